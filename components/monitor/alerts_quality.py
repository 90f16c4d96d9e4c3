"""On Databricks: a data quality monitor per classification endpoint on Model Serving (profiles
and drift of its predictions, computed and charted by Databricks). Nothing on a laptop."""

from __future__ import annotations

import streamlit as st

from services.core.errors import WorkbenchError
from services.core.workbench import Workbench
from services.monitor.quality_monitor import QualityMonitorService, quality_monitors


def show(workbench: Workbench, key: str, service: QualityMonitorService | None = None) -> None:
    if not workbench.settings.is_databricks:
        return
    service = service or QualityMonitorService(workbench, quality_monitors(workbench))
    with st.expander("Data quality monitors (Databricks)", icon=":material/query_stats:"):
        endpoints = {e.endpoint_name: e for e in service.classification_endpoints()}
        if not endpoints:
            st.caption("No classification endpoint on Model Serving yet. Deploy a model whose template's output has a field with "
                       "choices to Model Serving on the DEPLOY page; its inference table can then be monitored here.")
            return
        name = st.selectbox("Endpoint", list(endpoints), key=f"{key}_endpoint")
        endpoint = endpoints[name]
        st.caption(f"Monitors `{endpoint.predictions_table}`: the class in `{endpoint.field.name}` of each answered request "
                   f"in `{endpoint.payload_table}`, per served entity, profiled per hour and per day.")
        try:
            state = service.state(name)
            if st.button("Refresh predictions and monitor" if state else "Create monitor", key=f"{key}_create", type="primary"):
                state = service.create_monitor(name)
                st.toast(f"Data quality monitor on {state.table} is {state.status.lower()}.")
        except WorkbenchError as error:
            st.error(str(error))
            return
        if state is None:
            st.caption("No monitor yet.")
            return
        st.markdown(f"**Status** {state.status} · profile metrics `{state.profile_metrics_table}` · drift metrics "
                    f"`{state.drift_metrics_table}`" + (f" · dashboard `{state.dashboard_id}`" if state.dashboard_id else ""))
        if state.failure:
            st.error(f"The monitor's last refresh failed: {state.failure}")
