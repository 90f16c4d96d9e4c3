"""Send a prompt, or an item of the model's sheet rendered through its template, to an endpoint;
see the answer, its latency and whether it fits the schema."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.deploy import pii_flag
from components.feedback import shown_errors
from components.improve import feedback_form
from components.session import workbench
from services.deploy.playground import PlaygroundItem
from services.deploy.playground_requests import Playground
from services.deploy.records import ChatReply, ChatRequest, ChatTurn, Deployment, Target
from services.improve.records import FeedbackOrigin

PROMPT = "A prompt"
ITEM = "An item of the model's sheet"


def section(playground: Playground, items_for: Callable[[Deployment], list[PlaygroundItem]], key: str) -> None:
    """Pick an endpoint, send, and see the last answer; an error a request meets is shown and changes nothing."""
    ready = playground.endpoints()
    if not ready:
        st.info("Deploy a model version above to try it here.")
        return
    with shown_errors():
        ask = show(ready, items_for, key)
        if ask is not None:
            deployment, request = ask
            with st.spinner("Waiting for the model…"):
                st.session_state[f"{key}_reply"] = (request, playground.send(deployment, request), playground.logged_in(deployment))
    if answered := st.session_state.get(f"{key}_reply"):
        show_reply(*answered)


def show(endpoints: list[Deployment], items_for: Callable[[Deployment], list[PlaygroundItem]], key: str) -> tuple[Deployment, ChatRequest] | None:
    """The endpoint and request to send, when the person sends one."""
    picked = st.selectbox("Endpoint", list(range(len(endpoints))), format_func=lambda i: _label(endpoints[i]), key=f"{key}_endpoint")
    deployment = endpoints[picked]
    limit = deployment.max_tokens
    remote = deployment.target == Target.DATABRICKS
    source = st.radio("Send", [PROMPT, ITEM], horizontal=True, key=f"{key}_source",
                      help="An item is rendered through the template the model was trained with, as its training pairs were.")
    items = items_for(deployment) if source == ITEM else []
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
        tokens = st.number_input("Max tokens", 1, None, min(limit, 64), key=f"{key}_tokens", help=(
            f"Sent to the model as max_new_tokens, at most {limit:,}." if remote else
            f"This endpoint's limit is {limit}; asking for more is refused and logged."))
        sent = st.form_submit_button("Send", type="primary", icon=":material/send:")
    if not sent:
        return None
    if items:
        return deployment, ChatRequest(by_ref[ref].messages, int(tokens), by_ref[ref].source)
    if not prompt.strip():
        st.warning("Write a prompt first.", icon=":material/edit:")
        return None
    turns = ((ChatTurn("system", system.strip()),) if system.strip() else ()) + (ChatTurn("user", prompt.strip()),)
    return deployment, ChatRequest(turns, int(tokens))


def _label(deployment: Deployment) -> str:
    return f"{deployment.endpoint_name} (Model Serving)" if deployment.target == Target.DATABRICKS else deployment.endpoint_name


def show_reply(request: ChatRequest, reply: ChatReply, logged_in: str) -> None:
    with st.expander("Request sent"):
        for turn in request.messages:
            st.markdown(f"**{turn.role}**")
            st.text(turn.content)
    st.markdown(f"**Answer** from {reply.endpoint_name} ({reply.model_name} v{reply.model_version})")
    st.code(reply.text or "(empty)", language=None, wrap_lines=True)
    tokens = "—" if reply.completion_tokens is None else f"{reply.completion_tokens:,}"
    unreported = "" if reply.completion_tokens is not None else " The model did not report its token counts."
    latency, used, schema = st.columns(3)
    latency.metric("Latency", f"{reply.latency_ms:,.0f} ms")
    used.metric("Tokens", tokens, help="Answer tokens; the prompt took " + ("—" if reply.prompt_tokens is None else f"{reply.prompt_tokens:,}") + "." + unreported)
    check = reply.schema_result
    if check is None:
        schema.metric("Output schema", "not checked", help="This endpoint has no schema guardrail (or its model no template).")
    elif check.passed:
        schema.metric("Output schema", "matches")
    else:
        schema.metric("Output schema", "does not match")
        st.warning(check.detail, icon=":material/rule:")
    pii_flag.show(reply)
    trace = f" · trace {reply.trace_id}" if reply.trace_id else ""
    st.caption(f"Request {reply.request_id}{trace} · {logged_in}")
    if reply.trace_id:  # a local endpoint's answer, in the workbench's inference log (Model Serving's are not)
        feedback_form.show(workbench(), request_id=reply.request_id, origin=FeedbackOrigin.PLAYGROUND,
                           key=f"playground_feedback_{reply.request_id}")
