//! IP lock: switching a connection to per-instance tokens so workers stop invalidating each other.

use super::*;

impl<H: Host> Engine<H> {
    /// Switches a connection to per-instance access tokens so that instances with
    /// different egress IPs stop invalidating each other.
    pub(super) async fn enter_ip_lock(&self, id: &str, diagnosis: &Diagnosis) {
        let Some(record) = self.with_conn(id, |c| c.record.clone()) else {
            return;
        };
        let local = LocalToken {
            access_token: record.access_token.clone(),
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            instance_url: record.instance_url.clone(),
        };
        if !record.ip_locked {
            let mut stored = match self.read_record(id).await {
                Ok(Some(s)) => s,
                _ => record.clone(),
            };
            stored.ip_locked = true;
            self.share_record(id, &stored).await;
            self.keep_local(id, &local).await;
            self.with_conn(id, |c| {
                c.record.ip_locked = true;
                c.local = Some(local);
            });
        }
        self.emit_diagnosis(id, diagnosis);
    }
}
