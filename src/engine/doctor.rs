//! The doctor: the checks of `diagnose()` and the verdict they lead to.

use super::*;
use serde::Serialize;

impl<H: Host> Engine<H> {
    pub(super) async fn probe(&self, url: &str, token: &Secret) -> Result<HttpReply, HostError> {
        self.host.get_with_bearer(url, token).await
    }

    /// Runs the checks and names the root cause.
    pub async fn diagnose(&self, id: &str) -> Result<Report, SessionError> {
        check_connection_id(id)?;
        let mut checks = Vec::new();
        let report = |diagnosis: Diagnosis, checks: Vec<Check>| Report::new(diagnosis, id, checks);
        let record = match self.read_record(id).await? {
            Some(r) => r,
            None => {
                checks.push(Check {
                    name: "stored",
                    ok: false,
                    detail: "no record in the store".into(),
                });
                let d = Diagnosis::of(
                    ErrorCode::UnknownConnection,
                    Confidence::High,
                    vec!["the store has no record for this connection id".into()],
                );
                return Ok(report(d, checks));
            }
        };
        checks.push(Check {
            name: "stored",
            ok: true,
            detail: format!(
                "org {} user {}, token minted by '{}'",
                record.org_id, record.user_id, record.minted_by
            ),
        });
        if record.status == Status::ReauthRequired {
            let e = self.revoked_error(id, &record);
            checks.push(Check {
                name: "status",
                ok: false,
                detail: "reauth_required".into(),
            });
            let d = Diagnosis {
                fix: e.fix.clone(),
                ..Diagnosis::from_error(&e, Confidence::High)
            };
            self.emit_diagnosis_for(id, &record, &d);
            return Ok(report(d, checks));
        }
        if let Err(why) = check_instance_url(
            &record.instance_url,
            self.config.allow_insecure_loopback,
            None,
        ) {
            checks.push(Check {
                name: "instance_host",
                ok: false,
                detail: why.clone(),
            });
            let d = Diagnosis::of(
                ErrorCode::WrongInstanceUrl,
                Confidence::High,
                vec![format!("instance_url refused: {why}")],
            );
            self.emit_diagnosis_for(id, &record, &d);
            return Ok(report(d, checks));
        }
        checks.push(Check {
            name: "instance_host",
            ok: true,
            detail: format!("{} is an API host", record.instance_url),
        });
        self.take_record(id, record.clone()).await?;
        let mut evidence: Vec<String> = Vec::new();
        let view = self.current_view(id);
        let rest_url = format!(
            "{}/services/data/v{}/",
            record.instance_url, self.config.api_version
        );
        let mut rest = None;
        if let Some(view) = view.clone() {
            if let (Some(secret), true) =
                (self.config.client_secret.clone(), self.config.introspect)
            {
                let request = introspect::request(
                    &record.instance_url,
                    &view.access,
                    &self.config.client_id,
                    &secret,
                );
                match self.host.post_form(&request.url, &request.pairs()).await {
                    Ok(r) => {
                        let seen = read_introspection(r.status, &r.body);
                        let active = seen.active;
                        checks.push(Check {
                            name: "introspection",
                            ok: active,
                            detail: if active {
                                format!(
                                    "token active, exp {}",
                                    seen.expires_at_ms.map_or(0, |ms| ms / 1000)
                                )
                            } else {
                                "token inactive".into()
                            },
                        });
                    }
                    Err(e) => checks.push(Check {
                        name: "introspection",
                        ok: false,
                        detail: clip(e.detail(), 120),
                    }),
                }
            }
            rest = Some(self.probe(&rest_url, &view.access).await);
        }
        let identity = match &view {
            Some(v) => self.probe(&record.id_url, &v.access).await.ok(),
            None => None,
        };
        if let Some(identity) = &identity {
            checks.push(Check {
                name: "identity",
                ok: identity.status == 200,
                detail: form_reply_detail(identity),
            });
        }
        let rest_ok = matches!(&rest, Some(Ok(r)) if r.status == 200);
        match &rest {
            Some(Ok(r)) => checks.push(Check {
                name: "rest_probe",
                ok: rest_ok,
                detail: form_reply_detail(r),
            }),
            Some(Err(e)) => checks.push(Check {
                name: "rest_probe",
                ok: false,
                detail: format!("request failed: {}", clip(e.detail(), 120)),
            }),
            None => checks.push(Check {
                name: "rest_probe",
                ok: false,
                detail: "no access token for this instance".into(),
            }),
        }
        let org_read_only = self
            .orgs
            .borrow()
            .get(&record.org_id)
            .is_some_and(|o| o.read_only.is_some());
        let diagnosis = if rest_ok {
            if record.ip_locked {
                Diagnosis::of(ErrorCode::IpLocked, Confidence::Medium, vec![
                    "tokens minted by another instance were rejected here while tokens minted here worked".into(),
                    "each instance keeps its own access token; calls succeed".into(),
                ])
            } else if org_read_only {
                Diagnosis::of(ErrorCode::OrgReadOnly, Confidence::High, vec!["writes met INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE; reads work".into()])
            } else {
                Diagnosis {
                    cause: "OK".into(),
                    confidence: Confidence::High,
                    evidence: vec!["the REST probe succeeded with the current token".into()],
                    fix: "Nothing to fix.".into(),
                }
            }
        } else {
            // The same reading of the REST answer as every call gets (decide/classify).
            let (status, verdict) = match &rest {
                Some(Ok(r)) => (r.status, classify_response(r.status, &r.body)),
                _ => (0, ResponseVerdict::Pass),
            };
            match verdict {
                ResponseVerdict::UrlNotReset(_) => Diagnosis::of(
                    ErrorCode::WrongInstanceUrl,
                    Confidence::High,
                    vec![format!("the REST probe answered {status} URL_NOT_RESET")],
                ),
                ResponseVerdict::RateLimited(e) => Diagnosis::of(
                    ErrorCode::RateLimited,
                    Confidence::High,
                    vec![format!(
                        "the REST probe answered REQUEST_LIMIT_EXCEEDED: \"{}\"",
                        clip(&e.message, 160)
                    )],
                ),
                ResponseVerdict::ApiDisabled(e) => Diagnosis::of(
                    ErrorCode::ApiDisabled,
                    Confidence::High,
                    vec![format!(
                        "the REST probe answered API_DISABLED_FOR_ORG: \"{}\"",
                        clip(&e.message, 160)
                    )],
                ),
                ResponseVerdict::Pass if matches!(&rest, Some(Ok(_))) => {
                    // Only a rejected session leads to a session cause: a 404, a 503 or an
                    // HTML page says the token was accepted and something else failed.
                    accepted_despite(status, &mut evidence);
                    session_accepted(Confidence::Medium, evidence)
                }
                other => {
                    let message = match (other, &rest) {
                        (ResponseVerdict::SessionRejected(e) | ResponseVerdict::ReadOnly(e), _) => {
                            e.message
                        }
                        (_, Some(Ok(r))) => parse_api_error(&r.body)
                            .map(|e| e.message)
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    evidence.push(format!(
                        "the REST probe with the current token was rejected: \"{}\"",
                        clip(&message, 160)
                    ));
                    self.diagnose_after_refresh(
                        id,
                        &record,
                        &rest_url,
                        &message,
                        identity.as_ref(),
                        org_read_only,
                        evidence,
                        &mut checks,
                    )
                    .await
                }
            }
        };
        self.emit_diagnosis_for(id, &record, &diagnosis);
        Ok(report(diagnosis, checks))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn diagnose_after_refresh(
        &self,
        id: &str,
        record: &StoredConnection,
        rest_url: &str,
        message: &str,
        identity: Option<&HttpReply>,
        org_read_only: bool,
        mut evidence: Vec<String>,
        checks: &mut Vec<Check>,
    ) -> Diagnosis {
        if !record.renewable() {
            if is_not_valid_for_rest(message) {
                return Diagnosis::of(ErrorCode::ApiClientControl, Confidence::Medium, evidence);
            }
            evidence.push("no refresh token is stored for this connection".into());
            return Diagnosis::of(ErrorCode::SessionExpired, Confidence::High, evidence);
        }
        match self.renew(id, RefreshReason::Diagnose, None).await {
            Err(e) => {
                checks.push(Check {
                    name: "refresh",
                    ok: false,
                    detail: format!(
                        "{}: {}",
                        e.code,
                        e.evidence.first().cloned().unwrap_or_default()
                    ),
                });
                evidence.extend(e.evidence.clone());
                Diagnosis {
                    fix: e.fix.clone(),
                    ..Diagnosis::of(e.code, Confidence::High, evidence)
                }
            }
            Ok(_) => {
                checks.push(Check {
                    name: "refresh",
                    ok: true,
                    detail: "the token endpoint issued a new access token".into(),
                });
                let Some(view) = self.current_view(id) else {
                    return Diagnosis::of(ErrorCode::RefreshFailed, Confidence::Low, evidence);
                };
                let again = self.probe(rest_url, &view.access).await;
                let ok = matches!(&again, Ok(r) if r.status == 200);
                let rejected = matches!(&again, Ok(r) if matches!(classify_response(r.status, &r.body), ResponseVerdict::SessionRejected(_)));
                checks.push(Check {
                    name: "rest_probe_after_refresh",
                    ok,
                    detail: match &again {
                        Ok(r) => form_reply_detail(r),
                        Err(e) => clip(e.detail(), 120),
                    },
                });
                if ok {
                    let foreign = record.minted_by != self.config.instance_id && !record.ip_locked;
                    if foreign
                        && self.host.now_ms().saturating_sub(record.issued_at)
                            < crate::decide::classify::FRESH_TOKEN_MS
                    {
                        evidence.push(format!("the rejected token was minted by instance '{}' moments ago; a token minted here works", record.minted_by));
                        return Diagnosis::of(ErrorCode::IpLocked, Confidence::Medium, evidence);
                    }
                    evidence.push("a refreshed token works: the session had expired and the library renews it by itself".into());
                    return Diagnosis {
                        cause: "OK".into(),
                        confidence: Confidence::High,
                        evidence,
                        fix: "Nothing to fix: expired sessions are refreshed automatically.".into(),
                    };
                }
                if !rejected {
                    match &again {
                        Ok(r) => accepted_despite(r.status, &mut evidence),
                        Err(e) => {
                            evidence.push(format!(
                                "the REST probe could not reach the instance: {}",
                                clip(e.detail(), 120)
                            ));
                            return Diagnosis::of(
                                ErrorCode::SalesforceUnavailable,
                                Confidence::Low,
                                evidence,
                            );
                        }
                    }
                    return session_accepted(Confidence::Low, evidence);
                }
                if org_read_only {
                    evidence.push("the org answered INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE recently".into());
                    return Diagnosis::of(ErrorCode::OrgReadOnly, Confidence::Medium, evidence);
                }
                evidence.push("a token minted moments ago was rejected as well".into());
                if identity.is_some_and(|r| r.status == 200) {
                    evidence.push("the identity endpoint accepts the token: the session is valid, the REST API is not allowed for this app".into());
                }
                Diagnosis::of(
                    ErrorCode::ApiClientControl,
                    if is_not_valid_for_rest(message) {
                        Confidence::High
                    } else {
                        Confidence::Medium
                    },
                    evidence,
                )
            }
        }
    }
}

/// One check the doctor ran.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// The doctor's report: the diagnosis's members, then `connectionId` and `checks`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The cause named: an error code, or `OK`.
    pub cause: String,
    /// How sure.
    pub confidence: Confidence,
    /// What was observed.
    pub evidence: Vec<String>,
    /// What fixes it.
    pub fix: String,
    /// The connection.
    pub connection_id: String,
    /// The checks run, in order.
    pub checks: Vec<Check>,
}

impl Report {
    /// The report of `diagnosis` for connection `id`.
    pub fn new(diagnosis: Diagnosis, id: &str, checks: Vec<Check>) -> Self {
        let Diagnosis {
            cause,
            confidence,
            evidence,
            fix,
        } = diagnosis;
        Report {
            cause,
            confidence,
            evidence,
            fix,
            connection_id: id.to_string(),
            checks,
        }
    }
}

/// The verdict when the session was accepted and something else failed.
fn session_accepted(confidence: Confidence, evidence: Vec<String>) -> Diagnosis {
    Diagnosis {
        cause: "OK".into(),
        confidence,
        evidence,
        fix: "Nothing to fix in the session; check the failing request itself (its API version or path, or Salesforce's status).".into(),
    }
}

/// Evidence that a probe failed for a reason other than the session.
fn accepted_despite(status: u16, evidence: &mut Vec<String>) {
    evidence.push(format!(
        "the REST probe answered HTTP {status}, which is not a session failure: the token was accepted"
    ));
}

pub(super) fn form_reply_detail(reply: &HttpReply) -> String {
    match parse_api_error(&reply.body) {
        Some(e) => format!(
            "HTTP {} {}: \"{}\"",
            reply.status,
            e.code,
            clip(&e.message, 160)
        ),
        None => format!("HTTP {}", reply.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_lists_the_diagnosis_then_the_connection_and_its_checks() {
        let report = Report::new(
            Diagnosis::of(ErrorCode::IpLocked, Confidence::Medium, vec!["seen".into()]),
            "acme",
            vec![Check {
                name: "stored",
                ok: true,
                detail: "org o".into(),
            }],
        );
        let text = crate::wire::json::encode(&report);
        assert!(text.starts_with(
            r#"{"cause":"IP_LOCKED","confidence":"medium","evidence":["seen"],"fix":"#
        ));
        assert!(text.ends_with(
            r#","connectionId":"acme","checks":[{"name":"stored","ok":true,"detail":"org o"}]}"#
        ));
    }
}
