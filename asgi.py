"""The workbench as one ASGI app: the pages (app.py) and the API (/api/v1/...) in one process,
on one port (a Databricks App gets one). `serve.py` runs this file with `streamlit run`, which
finds the st.App below and serves it with uvicorn. The pages' index.html tells the browser
where the server is (api/page_base_url.py), so deep links load without 404s."""

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

from api.page_base_url import BaseUrlInIndex
from api.routes import api_lifespan, api_middleware, api_routes

page_base_url = Middleware(BaseUrlInIndex, base_path=config.get_option("server.baseUrlPath") or "")
app = st.App("app.py", routes=api_routes(), middleware=[page_base_url, *api_middleware()], lifespan=api_lifespan)
