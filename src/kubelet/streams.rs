//! What the API needs from the node to serve logs, exec, attach and
//! port-forward: a running process's stdio, a connection into the pod's
//! network namespace, a container's log.

use std::future::Future;
use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde_json::json;
use tokio::net::TcpStream;

use crate::registry::ApiError;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A process the client talks to: the runtime's exec and attach handle.
pub(crate) use crate::runtime::ProcessIo;

/// The node side of the streaming subresources. Errors are `Status`es
/// the client sees as they are.
pub(crate) trait PodStreams: Send + Sync {
    fn exec(
        &self,
        ns: &str,
        pod: &str,
        container: Option<String>,
        cmd: Vec<String>,
        tty: bool,
        stdin: bool,
    ) -> BoxFuture<'static, Result<ProcessIo, ApiError>>;

    fn attach(
        &self,
        ns: &str,
        pod: &str,
        container: Option<String>,
        stdin: bool,
        tty: bool,
    ) -> BoxFuture<'static, Result<ProcessIo, ApiError>>;

    fn port_forward(
        &self,
        ns: &str,
        pod: &str,
        port: u16,
    ) -> BoxFuture<'static, Result<TcpStream, ApiError>>;

    fn logs(
        &self,
        ns: &str,
        pod: &str,
        opts: LogOptions,
    ) -> BoxFuture<'static, Result<BoxStream<'static, io::Result<Bytes>>, ApiError>>;
}

/// The query of `pods/log`, checked as upstream checks `PodLogOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LogOptions {
    pub(crate) container: Option<String>,
    pub(crate) follow: bool,
    pub(crate) previous: bool,
    pub(crate) tail_lines: Option<i64>,
    pub(crate) since_seconds: Option<i64>,
    pub(crate) since_time: Option<jiff::Timestamp>,
    pub(crate) timestamps: bool,
    pub(crate) limit_bytes: Option<i64>,
}

impl LogOptions {
    /// Parses the query parameters of a log request for pod `name`.
    /// `get` returns a parameter's first value.
    pub(crate) fn parse<'a>(
        name: &str,
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<LogOptions, ApiError> {
        let flag = |key: &str| -> Result<bool, ApiError> {
            match get(key) {
                None | Some("") => Ok(false),
                Some(v) => v.parse::<bool>().map_err(|_| {
                    ApiError::bad_request(format!("{key}: invalid value {v:?}: not a boolean"))
                }),
            }
        };
        let int = |key: &str| -> Result<Option<i64>, ApiError> {
            match get(key) {
                None | Some("") => Ok(None),
                Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                    ApiError::bad_request(format!("{key}: invalid value {v:?}: not an integer"))
                }),
            }
        };
        let since_time = match get("sinceTime") {
            None | Some("") => None,
            Some(v) => Some(v.parse::<jiff::Timestamp>().map_err(|_| {
                ApiError::bad_request(format!(
                    "sinceTime: invalid value {v:?}: not an RFC 3339 time"
                ))
            })?),
        };
        let opts = LogOptions {
            container: get("container").filter(|c| !c.is_empty()).map(String::from),
            follow: flag("follow")?,
            previous: flag("previous")?,
            tail_lines: int("tailLines")?,
            since_seconds: int("sinceSeconds")?,
            since_time,
            timestamps: flag("timestamps")?,
            limit_bytes: int("limitBytes")?,
        };
        opts.validate(name)?;
        Ok(opts)
    }

    fn validate(&self, name: &str) -> Result<(), ApiError> {
        let mut causes: Vec<(&str, &'static str, String)> = Vec::new();
        if let Some(n) = self.tail_lines.filter(|n| *n < 0) {
            causes.push((
                "tailLines",
                "FieldValueInvalid",
                format!("Invalid value: {n}: must be greater than or equal to 0"),
            ));
        }
        if let Some(n) = self.limit_bytes.filter(|n| *n < 1) {
            causes.push((
                "limitBytes",
                "FieldValueInvalid",
                format!("Invalid value: {n}: must be greater than 0"),
            ));
        }
        match (self.since_seconds, self.since_time) {
            (Some(_), Some(_)) => causes.push((
                "",
                "FieldValueForbidden",
                "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
                    .to_string(),
            )),
            (Some(n), None) if n < 1 => causes.push((
                "sinceSeconds",
                "FieldValueInvalid",
                format!("Invalid value: {n}: must be greater than 0"),
            )),
            _ => {}
        }
        if causes.is_empty() {
            return Ok(());
        }
        let text = |field: &str, msg: &str| {
            if field.is_empty() {
                msg.to_string()
            } else {
                format!("{field}: {msg}")
            }
        };
        let listed: Vec<String> = causes.iter().map(|(f, _, m)| text(f, m)).collect();
        let joined = if listed.len() == 1 {
            listed[0].clone()
        } else {
            format!("[{}]", listed.join(", "))
        };
        let mut err = ApiError::new(
            422,
            "Invalid",
            format!("PodLogOptions \"{name}\" is invalid: {joined}"),
        );
        err.details = Some(json!({
            "name": name,
            "kind": "PodLogOptions",
            "causes": causes
                .iter()
                .map(|(f, r, m)| json!({"reason": r, "message": m, "field": f}))
                .collect::<Vec<_>>(),
        }));
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(q: &[(&str, &str)]) -> Result<LogOptions, ApiError> {
        let map: HashMap<String, String> = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LogOptions::parse("web", |k| map.get(k).map(String::as_str))
    }

    #[test]
    fn log_options_parse_all_fields() {
        let o = parse(&[
            ("container", "app"),
            ("follow", "true"),
            ("previous", "false"),
            ("tailLines", "10"),
            ("timestamps", "true"),
            ("limitBytes", "500"),
            ("sinceTime", "2024-01-02T03:04:05Z"),
        ])
        .unwrap();
        assert_eq!(o.container.as_deref(), Some("app"));
        assert!(o.follow && o.timestamps && !o.previous);
        assert_eq!(o.tail_lines, Some(10));
        assert_eq!(o.limit_bytes, Some(500));
        assert_eq!(
            o.since_time.unwrap().to_string(),
            "2024-01-02T03:04:05Z".to_string()
        );
        assert_eq!(parse(&[]).unwrap(), LogOptions::default());
    }

    #[test]
    fn log_options_refused_as_upstream() {
        let e = parse(&[("tailLines", "-1")]).unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "PodLogOptions \"web\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"
        );
        let e = parse(&[("sinceSeconds", "5"), ("sinceTime", "2024-01-02T03:04:05Z")]).unwrap_err();
        assert!(
            e.message
                .contains("at most one of `sinceTime` or `sinceSeconds`")
        );
        let e = parse(&[("sinceSeconds", "0"), ("limitBytes", "0")]).unwrap_err();
        assert!(
            e.message
                .contains("limitBytes: Invalid value: 0: must be greater than 0")
        );
        assert!(e.message.contains("sinceSeconds: Invalid value: 0"));
        assert_eq!(parse(&[("follow", "yes")]).unwrap_err().code, 400);
        assert_eq!(parse(&[("tailLines", "x")]).unwrap_err().code, 400);
    }
}
