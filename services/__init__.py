"""The domain: plain Python, no Streamlit. Services take their data access as an argument."""
