"""The workbench API: `/api/v1/...` routes served by the app itself (st.App), beside the pages.

Imports point one way: api → services, never data_access, pages or components.
"""
