"""Starts the workbench: `python serve.py [streamlit options]`.

The server runs asgi.py, an st.App: the pages of app.py and the workbench API (/api/v1/...)
on one port, served by uvicorn (`streamlit run` finds the st.App in that file).

Streamlit 1.67 still treats a `pages/` folder beside the entry script as a legacy (v1)
multipage app until the entry script's first `st.navigation` call. On a fresh server, a
person who opens a deep link such as `/data?sheet=…` before anyone has opened `/` would
get that page run on its own: no navigation, no wide layout. Declaring the app a v2 app
before the first session avoids that; everything else is `streamlit run asgi.py`.
"""

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli


def main() -> None:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", "asgi.py", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
