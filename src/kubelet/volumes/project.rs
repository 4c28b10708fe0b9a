//! Renders the files of API-backed volumes: configMap, secret,
//! downwardAPI and projected (with service account tokens).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use k8s_openapi::api::core::v1::{
    DownwardAPIVolumeFile, KeyToPath, Pod, ServiceAccountTokenProjection, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::atomic::{FileProjection, Payload};
use super::downward::{field_value, find_container, resource_value};
use super::source::{TokenSpec, VolumeSource};
use super::{Error, Result};

const DEFAULT_MODE: i32 = 0o644;
const DEFAULT_TOKEN_SECONDS: i64 = 3600;

pub(super) struct Context<'a> {
    pub(super) source: &'a dyn VolumeSource,
    pub(super) pod: &'a Pod,
    pub(super) allocatable: &'a BTreeMap<String, Quantity>,
    /// Where token issue times are kept between refreshes.
    pub(super) state_dir: &'a Path,
    pub(super) volume: &'a str,
    /// Unix seconds.
    pub(super) now: i64,
}

impl Context<'_> {
    fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("default")
    }
}

fn file(data: Vec<u8>, mode: Option<i32>, default_mode: i32) -> FileProjection {
    FileProjection {
        data,
        mode: (mode.unwrap_or(default_mode) & 0o7777) as u32,
    }
}

/// Adds `data` (key -> bytes) by `items`, or every key when there are none.
fn by_items(
    out: &mut Payload,
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&Vec<KeyToPath>>,
    optional: bool,
    default_mode: i32,
    missing: fn(String) -> Error,
) -> Result<()> {
    match items.filter(|i| !i.is_empty()) {
        None => {
            for (k, v) in data {
                out.insert(k.clone(), file(v.clone(), None, default_mode));
            }
        }
        Some(items) => {
            for item in items {
                match data.get(&item.key) {
                    Some(v) => {
                        out.insert(item.path.clone(), file(v.clone(), item.mode, default_mode));
                    }
                    None if optional => {}
                    None => return Err(missing(item.key.clone())),
                }
            }
        }
    }
    Ok(())
}

async fn config_map_files(
    ctx: &Context<'_>,
    out: &mut Payload,
    name: &str,
    items: Option<&Vec<KeyToPath>>,
    optional: bool,
    default_mode: i32,
) -> Result<()> {
    let Some(cm) = ctx.source.config_map(ctx.namespace(), name).await? else {
        if optional {
            return Ok(());
        }
        return Err(Error::ConfigMapNotFound(name.to_string()));
    };
    let mut data: BTreeMap<String, Vec<u8>> = cm
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    for (k, v) in cm.binary_data.unwrap_or_default() {
        data.insert(k, v.0);
    }
    by_items(
        out,
        &data,
        items,
        optional,
        default_mode,
        Error::MissingConfigMapKey,
    )
}

async fn secret_files(
    ctx: &Context<'_>,
    out: &mut Payload,
    name: &str,
    items: Option<&Vec<KeyToPath>>,
    optional: bool,
    default_mode: i32,
) -> Result<()> {
    let Some(secret) = ctx.source.secret(ctx.namespace(), name).await? else {
        if optional {
            return Ok(());
        }
        return Err(Error::SecretNotFound(name.to_string()));
    };
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    by_items(
        out,
        &data,
        items,
        optional,
        default_mode,
        Error::MissingSecretKey,
    )
}

fn downward_files(
    ctx: &Context<'_>,
    out: &mut Payload,
    items: &[DownwardAPIVolumeFile],
    default_mode: i32,
) -> Result<()> {
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            field_value(ctx.pod, f)?
        } else if let Some(r) = &item.resource_field_ref {
            let name = r.container_name.as_deref().unwrap_or("");
            let c = find_container(ctx.pod, name)
                .ok_or_else(|| Error::NoContainer(name.to_string()))?;
            resource_value(c, r, ctx.allocatable)?
        } else {
            continue;
        };
        out.insert(
            item.path.clone(),
            file(value.into_bytes(), item.mode, default_mode),
        );
    }
    Ok(())
}

#[derive(serde::Serialize, serde::Deserialize, Clone, PartialEq)]
struct TokenState {
    spec_key: String,
    token: String,
    issued_at: i64,
    expires_at: i64,
}

fn state_path(ctx: &Context<'_>, path: &str) -> std::path::PathBuf {
    let flat = path.replace('/', "_");
    ctx.state_dir
        .join(format!("{}.{flat}.token.json", ctx.volume))
}

/// The token for `p`: the one issued before while it is younger than 80%
/// of its lifetime, else a new one.
async fn token(ctx: &Context<'_>, p: &ServiceAccountTokenProjection) -> Result<String> {
    let spec = TokenSpec {
        service_account: ctx
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".into()),
        audiences: p
            .audience
            .iter()
            .filter(|a| !a.is_empty())
            .cloned()
            .collect(),
        expiration_seconds: p.expiration_seconds.unwrap_or(DEFAULT_TOKEN_SECONDS),
        pod_name: ctx.pod.metadata.name.clone().unwrap_or_default(),
        pod_uid: ctx.pod.metadata.uid.clone().unwrap_or_default(),
    };
    let spec_key = format!("{spec:?}");
    let path = state_path(ctx, &p.path);
    let previous: Option<TokenState> = fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(s) = previous
        && s.spec_key == spec_key
        && ctx.now < s.issued_at + (s.expires_at - s.issued_at) * 8 / 10
    {
        return Ok(s.token);
    }
    let issued = ctx.source.create_token(ctx.namespace(), &spec).await?;
    let state = TokenState {
        spec_key,
        token: issued.token.clone(),
        issued_at: ctx.now,
        expires_at: issued.expires_at,
    };
    let write = || -> std::io::Result<()> {
        fs::create_dir_all(ctx.state_dir)?;
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, serde_json::to_vec(&state).unwrap_or_default())?;
        fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| Error::Write {
        path: path.clone(),
        source: e,
    })?;
    Ok(issued.token)
}

/// The files of an API-backed volume.
pub(super) async fn payload(ctx: &Context<'_>, v: &Volume) -> Result<Payload> {
    let mut out = Payload::new();
    if let Some(c) = &v.config_map {
        let mode = c.default_mode.unwrap_or(DEFAULT_MODE);
        config_map_files(
            ctx,
            &mut out,
            &c.name,
            c.items.as_ref(),
            c.optional == Some(true),
            mode,
        )
        .await?;
    } else if let Some(s) = &v.secret {
        let mode = s.default_mode.unwrap_or(DEFAULT_MODE);
        let name = s.secret_name.as_deref().unwrap_or("");
        secret_files(
            ctx,
            &mut out,
            name,
            s.items.as_ref(),
            s.optional == Some(true),
            mode,
        )
        .await?;
    } else if let Some(d) = &v.downward_api {
        let mode = d.default_mode.unwrap_or(DEFAULT_MODE);
        downward_files(ctx, &mut out, d.items.as_deref().unwrap_or(&[]), mode)?;
    } else if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(DEFAULT_MODE);
        for src in p.sources.iter().flatten() {
            if let Some(c) = &src.config_map {
                let optional = c.optional == Some(true);
                config_map_files(ctx, &mut out, &c.name, c.items.as_ref(), optional, mode).await?;
            } else if let Some(s) = &src.secret {
                let optional = s.optional == Some(true);
                secret_files(ctx, &mut out, &s.name, s.items.as_ref(), optional, mode).await?;
            } else if let Some(d) = &src.downward_api {
                downward_files(ctx, &mut out, d.items.as_deref().unwrap_or(&[]), mode)?;
            } else if let Some(t) = &src.service_account_token {
                let token = token(ctx, t).await?;
                out.insert(t.path.clone(), file(token.into_bytes(), None, mode));
            } else {
                return Err(Error::Unsupported(ctx.volume.to_string()));
            }
        }
    } else {
        return Err(Error::Unsupported(ctx.volume.to_string()));
    }
    Ok(out)
}
