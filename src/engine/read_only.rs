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
            let value = Json::object([
                ("nextProbeAt", Json::Uint(state.next_probe_at)),
                ("since", Json::Uint(state.since)),
            ])
            .write();
            let _ = self
                .host
                .store_put(&self.config.read_only_key(org_id), &value)
                .await;
            self.emit_for(
                "org_read_only",
                id,
                vec![("nextProbeAt", Json::Uint(state.next_probe_at))],
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
            let _ = self
                .host
                .store_delete(&self.config.read_only_key(org_id))
                .await;
            self.emit_for(
                "org_writable",
                id,
                vec![(
                    "readOnlyForMs",
                    Json::Uint(self.host.now_ms().saturating_sub(state.since)),
                )],
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
