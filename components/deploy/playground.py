"""Send a prompt to an endpoint and see the answer, its latency and whether it fits the schema."""

from __future__ import annotations

import streamlit as st

from services.deploy.records import ChatReply, ChatRequest, ChatTurn, Deployment


def show(endpoints: list[Deployment], key: str) -> tuple[str, ChatRequest] | None:
    """The endpoint and request to send, when the person sends one."""
    by_name = {d.endpoint_name: d for d in endpoints}
    with st.form(key):
        name = st.selectbox("Endpoint", list(by_name), key=f"{key}_endpoint")
        system = st.text_area("System prompt (optional)", key=f"{key}_system", height=68)
        prompt = st.text_area("Prompt", key=f"{key}_prompt", height=120)
        limit = by_name[name].max_tokens if name else 1
        tokens = st.number_input("Max tokens", 1, None, min(limit, 64), key=f"{key}_tokens",
                                 help=f"This endpoint's limit is {limit}; asking for more is refused and logged.")
        sent = st.form_submit_button("Send", type="primary", icon=":material/send:")
    if not sent:
        return None
    if not prompt.strip():
        st.warning("Write a prompt first.", icon=":material/edit:")
        return None
    turns = ((ChatTurn("system", system.strip()),) if system.strip() else ()) + (ChatTurn("user", prompt.strip()),)
    return name, ChatRequest(turns, int(tokens))


def show_reply(reply: ChatReply) -> None:
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
