//! What a toolkit is sent of credentials: the caller's own token when the
//! toolkit opts in, the gateway's own key from a file, or nothing. Nothing
//! of the client's `Authorization` header reaches a toolkit otherwise.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, header};
use mcpgw_config::{CredentialFormat, StaticCredentialsPlan};

use crate::guard::Token;

/// How often, at most, a credential file is checked for a change: a mounted
/// Secret updates in place, and a stat per request would be wasted work.
const RECHECK: Duration = Duration::from_secs(1);

/// The credential policy of one toolkit.
#[derive(Debug, Default)]
pub struct UpstreamCredentials {
    /// Forward the caller's token, written in this format, in `Authorization`.
    forward: Option<CredentialFormat>,
    /// The gateway's own credential.
    fixed: Option<FileCredential>,
}

/// Why a toolkit could not be given its credential.
#[derive(Debug, thiserror::Error)]
#[error("its credential file `{path}` cannot be used: {reason}")]
pub struct CredentialError {
    path: String,
    reason: String,
}

impl UpstreamCredentials {
    pub fn new(
        forward: Option<&CredentialFormat>,
        fixed: Option<&StaticCredentialsPlan>,
    ) -> Result<Self, http::header::InvalidHeaderName> {
        Ok(Self {
            forward: forward.cloned(),
            fixed: fixed.map(FileCredential::new).transpose()?,
        })
    }

    /// Whether the toolkit gets the caller's token.
    pub fn forwards(&self) -> bool {
        self.forward.is_some()
    }

    /// Add this toolkit's credentials for a request made on behalf of `caller`.
    pub fn apply(
        &self,
        headers: &mut HeaderMap,
        caller: Option<&Token>,
    ) -> Result<(), CredentialError> {
        if let Some(fixed) = &self.fixed {
            let (name, value) = fixed.header()?;
            headers.insert(name, value);
        }
        if let (Some(format), Some(token)) = (&self.forward, caller)
            && let Ok(mut value) = HeaderValue::from_str(&format.format(token.expose()))
        {
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        Ok(())
    }
}

/// A credential read from a file, re-read when the file changes.
struct FileCredential {
    path: PathBuf,
    header: HeaderName,
    format: CredentialFormat,
    state: Mutex<FileState>,
}

#[derive(Default)]
struct FileState {
    checked: Option<Instant>,
    /// Modification time and length of the file the value was read from.
    stamp: Option<(SystemTime, u64)>,
    value: Option<HeaderValue>,
}

impl fmt::Debug for FileCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // NB: the value is a secret; only say where it comes from.
        f.debug_struct("FileCredential")
            .field("path", &self.path)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl FileCredential {
    fn new(plan: &StaticCredentialsPlan) -> Result<Self, http::header::InvalidHeaderName> {
        Ok(Self {
            path: PathBuf::from(&plan.file),
            header: HeaderName::from_bytes(plan.header.as_bytes())?,
            format: plan.format.clone(),
            state: Mutex::default(),
        })
    }

    fn header(&self) -> Result<(HeaderName, HeaderValue), CredentialError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let due = state.checked.is_none_or(|at| at.elapsed() >= RECHECK);
        if due {
            state.checked = Some(Instant::now());
            let stamp = std::fs::metadata(&self.path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            if stamp.is_none() || stamp != state.stamp {
                match self.read() {
                    Ok(value) => {
                        state.value = Some(value);
                        state.stamp = stamp;
                    }
                    // A Secret being swapped can be briefly unreadable: keep the last value.
                    Err(reason) if state.value.is_some() => {
                        tracing::warn!(path = %self.path.display(), %reason,
                            "credential file unreadable; keeping the previous credential");
                    }
                    Err(reason) => return Err(self.error(reason)),
                }
            }
        }
        match &state.value {
            Some(value) => Ok((self.header.clone(), value.clone())),
            None => Err(self.error("it could not be read".into())),
        }
    }

    fn read(&self) -> Result<HeaderValue, String> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| e.kind().to_string())?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err("it is empty".into());
        }
        let mut value = HeaderValue::from_str(&self.format.format(secret))
            .map_err(|_| "it holds characters a header cannot carry".to_owned())?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn error(&self, reason: String) -> CredentialError {
        CredentialError {
            path: self.path.display().to_string(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(file: &std::path::Path, header: &str) -> StaticCredentialsPlan {
        StaticCredentialsPlan {
            file: file.display().to_string(),
            header: header.into(),
            format: CredentialFormat::bearer(),
        }
    }

    #[test]
    fn nothing_crosses_by_default() {
        let credentials = UpstreamCredentials::default();
        let mut headers = HeaderMap::new();
        let token = Token::new("caller-secret");
        credentials
            .apply(&mut headers, Some(&token))
            .expect("no file to read");
        assert!(headers.is_empty());
    }

    #[test]
    fn forwarding_writes_the_callers_token_only_when_there_is_one() {
        let bearer = CredentialFormat::bearer();
        let credentials = UpstreamCredentials::new(Some(&bearer), None).expect("valid");
        let mut headers = HeaderMap::new();
        credentials.apply(&mut headers, None).expect("no file");
        assert!(headers.is_empty());
        let token = Token::new("abc");
        credentials
            .apply(&mut headers, Some(&token))
            .expect("no file");
        assert_eq!(headers[header::AUTHORIZATION], "Bearer abc");
        assert!(headers[header::AUTHORIZATION].is_sensitive());
    }

    #[test]
    fn a_file_credential_is_read_and_never_printed() {
        let dir = std::env::temp_dir().join(format!("mcpgw-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("token");
        std::fs::write(&file, "s3cr3t\n").expect("write");
        let credentials =
            UpstreamCredentials::new(None, Some(&plan(&file, "x-api-key"))).expect("valid");
        let mut headers = HeaderMap::new();
        credentials.apply(&mut headers, None).expect("readable");
        assert_eq!(headers["x-api-key"], "Bearer s3cr3t");
        assert!(!format!("{credentials:?}").contains("s3cr3t"));

        std::fs::remove_file(&file).expect("remove");
        let missing = UpstreamCredentials::new(None, Some(&plan(&file, "x-api-key")))
            .expect("valid")
            .apply(&mut HeaderMap::new(), None)
            .expect_err("missing file");
        assert!(missing.to_string().contains("token"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
