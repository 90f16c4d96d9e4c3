"""Send a prompt, or an item of the model's sheet rendered through its template, to an endpoint;
see the answer, its latency and whether it fits the schema."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from services.deploy.playground import PlaygroundItem
from services.deploy.records import ChatReply, ChatRequest, ChatTurn, Deployment

PROMPT = "A prompt"
ITEM = "An item of the model's sheet"


def show(endpoints: list[Deployment], items_for: Callable[[Deployment], list[PlaygroundItem]], key: str) -> tuple[str, ChatRequest] | None:
    """The endpoint and request to send, when the person sends one."""
    by_name = {d.endpoint_name: d for d in endpoints}
    name = st.selectbox("Endpoint", list(by_name), key=f"{key}_endpoint")
    limit = by_name[name].max_tokens
    source = st.radio("Send", [PROMPT, ITEM], horizontal=True, key=f"{key}_source",
                      help="An item is rendered through the template the model was trained with, as its training pairs were.")
    items = items_for(by_name[name]) if source == ITEM else []
    if source == ITEM and not items:
        st.info("This model's template or Training Sheet is no longer there, so there is no item to render; send a prompt instead.")
        return None
    by_ref = {i.item_ref: i for i in items}
    with st.form(key):
        if items:
            ref = st.selectbox("Item", list(by_ref), key=f"{key}_item")
        else:
            system = st.text_area("System prompt (optional)", key=f"{key}_system", height=68)
            prompt = st.text_area("Prompt", key=f"{key}_prompt", height=120)
        tokens = st.number_input("Max tokens", 1, None, min(limit, 64), key=f"{key}_tokens",
                                 help=f"This endpoint's limit is {limit}; asking for more is refused and logged.")
        sent = st.form_submit_button("Send", type="primary", icon=":material/send:")
    if not sent:
        return None
    if items:
        return name, ChatRequest(by_ref[ref].messages, int(tokens), by_ref[ref].source)
    if not prompt.strip():
        st.warning("Write a prompt first.", icon=":material/edit:")
        return None
    turns = ((ChatTurn("system", system.strip()),) if system.strip() else ()) + (ChatTurn("user", prompt.strip()),)
    return name, ChatRequest(turns, int(tokens))


def show_reply(request: ChatRequest, reply: ChatReply) -> None:
    with st.expander("Request sent"):
        for turn in request.messages:
            st.markdown(f"**{turn.role}**")
            st.text(turn.content)
    st.markdown(f"**Answer** from {reply.endpoint_name} ({reply.model_name} v{reply.model_version})")
    st.code(reply.text or "(empty)", language=None, wrap_lines=True)
    tokens = "—" if reply.completion_tokens is None else f"{reply.completion_tokens:,}"
    latency, used, schema = st.columns(3)
    latency.metric("Latency", f"{reply.latency_ms:,.0f} ms")
    used.metric("Tokens", tokens, help="Answer tokens; the prompt took " + ("—" if reply.prompt_tokens is None else f"{reply.prompt_tokens:,}"))
    check = reply.schema_result
    if check is None:
        schema.metric("Output schema", "not checked", help="This endpoint has no schema guardrail (or its model no template).")
    elif check.passed:
        schema.metric("Output schema", "matches")
    else:
        schema.metric("Output schema", "does not match")
        st.warning(check.detail, icon=":material/rule:")
    st.caption(f"Request {reply.request_id} · trace {reply.trace_id} · logged to the inference log")
