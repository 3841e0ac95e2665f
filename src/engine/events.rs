//! Events: every structured event the engine hands to the host, built only when someone listens.

use super::*;

impl<H: Host> Engine<H> {
    /// Hands an event to the host, its members in name order.
    pub(super) fn emit(&self, kind: &str, id: &str, org: &str, user: &str, extra: EventMembers) {
        if !self.host.wants_events() {
            return;
        }
        let mut members = vec![
            ("at", Json::Uint(self.host.now_ms())),
            ("connectionId", Json::str(id)),
            ("orgId", Json::str(org)),
            ("type", Json::str(kind)),
            ("userId", Json::str(user)),
        ];
        for member in extra {
            let at = members.partition_point(|(name, _)| *name < member.0);
            members.insert(at, member);
        }
        self.host.emit(&Json::object(members).write());
    }

    pub(super) fn emit_for(&self, kind: &str, id: &str, extra: EventMembers) {
        let (org, user) = self
            .with_conn(id, |c| (c.record.org_id.clone(), c.record.user_id.clone()))
            .unwrap_or_default();
        self.emit(kind, id, &org, &user, extra);
    }

    pub(super) fn emit_diagnosis(&self, id: &str, d: &Diagnosis) {
        self.emit_for("diagnosis", id, d.members().into());
    }

    pub(super) fn emit_diagnosis_for(&self, id: &str, record: &StoredConnection, d: &Diagnosis) {
        self.emit(
            "diagnosis",
            id,
            &record.org_id,
            &record.user_id,
            d.members().into(),
        );
    }

    pub(super) fn emit_request(
        &self,
        id: &str,
        method: &str,
        path: &str,
        status: u16,
        started: u64,
        attempt: u32,
    ) {
        if !self.host.wants_events() {
            return;
        }
        self.emit_for(
            "request",
            id,
            vec![
                ("method", Json::str(method)),
                ("path", Json::str(path)),
                ("status", Json::Uint(status.into())),
                (
                    "durationMs",
                    Json::Uint(self.host.now_ms().saturating_sub(started)),
                ),
                ("attempt", Json::Uint(attempt.into())),
            ],
        );
    }
}
