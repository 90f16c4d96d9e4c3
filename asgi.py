"""The workbench as one ASGI app: the pages (app.py) and the API (/api/v1/...) in one process,
on one port (a Databricks App gets one). `serve.py` runs this file with `streamlit run`, which
finds the st.App below and serves it with uvicorn. The pages' index.html tells the browser
where the server is (api/page_base_url.py), so deep links load without 404s."""

import streamlit as st
from starlette.middleware import Middleware

from api.page_base_url import BaseUrlInIndex
from api.routes import api_lifespan, api_middleware, api_routes

app = st.App("app.py", routes=api_routes(), middleware=[Middleware(BaseUrlInIndex), *api_middleware()], lifespan=api_lifespan)
