//! Read-only orgs: holding writes during maintenance and resuming after a probe.

use super::*;

impl<H: Host> Engine<H> {
    pub(super) async fn enter_read_only(&self, id: &str, org_id: &str) -> ReadOnlyState {
        let now = self.host.now_ms();
        let (state, first) = {
            let mut orgs = self.orgs.borrow_mut();
            let org = orgs.entry(org_id.to_string()).or_default();
            let first = org.read_only.is_none();
            let state = ReadOnlyState::after_refusal(org.read_only.as_ref(), now);
            org.read_only = Some(state.clone());
            (state, first)
        };
        if first {
            self.write_read_only_mark(id, org_id, &state).await;
            self.emit_for(
                id,
                EventDetail::OrgReadOnly {
                    next_probe_at: state.next_probe_at,
                },
            );
        }
        state
    }

    pub(super) async fn leave_read_only(&self, id: &str, org_id: &str) {
        let was = self
            .orgs
            .borrow_mut()
            .get_mut(org_id)
            .and_then(|o| o.read_only.take());
        if let Some(state) = was {
            self.clear_read_only_mark(id, org_id).await;
            self.emit_for(
                id,
                EventDetail::OrgWritable {
                    read_only_for_ms: self.host.now_ms().saturating_sub(state.since),
                },
            );
        }
    }

    pub(super) fn read_only_error(
        &self,
        id: &str,
        org_id: &str,
        evidence: Vec<String>,
        status: Option<u16>,
    ) -> SessionError {
        let mut e = SessionError::new(
            ErrorCode::OrgReadOnly,
            "The org is read-only (maintenance): writes are held",
        )
        .about(id, Some(org_id))
        .with_evidence(evidence);
        e.status = status;
        e
    }

    pub(super) fn set_probing(&self, org_id: &str, probing: bool) {
        if let Some(s) = self
            .orgs
            .borrow_mut()
            .get_mut(org_id)
            .and_then(|o| o.read_only.as_mut())
        {
            s.probing = probing;
        }
    }
}
