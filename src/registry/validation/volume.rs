//! Pod volumes and their sources.

use std::collections::BTreeMap;

use serde_json::Value;

use super::pod::dns_label_field;
use super::{FieldError, child, get_arr, get_str, go_quote, index, present, quantity};

type Errs = Vec<FieldError>;

pub(super) const FILE_MODE: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// Volume source fields in the order upstream checks them, with the path
/// segment upstream uses when reporting a second source (typos included).
pub(super) const VOLUME_SOURCES: &[(&str, &str)] = &[
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

/// Validates the volume list; returns the volumes mounts may reference
/// (upstream leaves out volumes that had errors).
pub(super) fn validate_volumes(
    vols: &[Value],
    path: &str,
    errs: &mut Errs,
) -> BTreeMap<String, Value> {
    let mut valid = BTreeMap::new();
    for (i, v) in vols.iter().enumerate() {
        let p = index(path, i);
        let mut el = Vec::new();
        volume_source(v, &p, &mut el);
        let name = get_str(v, "name");
        if name.is_empty() {
            el.push(FieldError::required(&child(&p, "name"), ""));
        } else {
            dns_label_field(name, &child(&p, "name"), &mut el);
        }
        if valid.contains_key(name) {
            el.push(FieldError::duplicate(&child(&p, "name"), go_quote(name)));
        }
        if el.is_empty() {
            valid.insert(name.to_owned(), v.clone());
        } else {
            errs.append(&mut el);
        }
    }
    valid
}

pub(super) fn volume_source(v: &Value, path: &str, errs: &mut Errs) {
    let mut count = 0;
    for (field, reported) in VOLUME_SOURCES {
        let Some(src) = v.get(*field).filter(|s| !s.is_null()) else {
            continue;
        };
        if count > 0 {
            errs.push(FieldError::forbidden(
                &child(path, reported),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        count += 1;
        let p = child(path, field);
        let required = |k: &str, errs: &mut Errs| {
            if get_str(src, k).is_empty() {
                errs.push(FieldError::required(&child(&p, k), ""));
            }
        };
        match *field {
            "emptyDir"
                if src
                    .get("sizeLimit")
                    .and_then(quantity)
                    .is_some_and(|(q, _)| q < 0) =>
            {
                errs.push(FieldError::forbidden(
                    &child(&p, "sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                ));
            }
            "hostPath" => {
                let hp = get_str(src, "path");
                if hp.is_empty() {
                    required("path", errs);
                } else {
                    no_backsteps(hp, &child(&p, "path"), errs);
                    let ty = get_str(src, "type");
                    const TYPES: &[&str] = &[
                        "",
                        "BlockDevice",
                        "CharDevice",
                        "Directory",
                        "DirectoryOrCreate",
                        "File",
                        "FileOrCreate",
                        "Socket",
                    ];
                    if !TYPES.contains(&ty) {
                        errs.push(FieldError::not_supported(
                            &child(&p, "type"),
                            go_quote(ty),
                            TYPES,
                        ));
                    }
                }
            }
            "secret" | "configMap" => {
                required(
                    if *field == "secret" {
                        "secretName"
                    } else {
                        "name"
                    },
                    errs,
                );
                file_mode(src, "defaultMode", &p, errs);
                for (j, item) in get_arr(src, "items").iter().enumerate() {
                    key_to_path(item, &index(&child(&p, "items"), j), errs);
                }
            }
            "persistentVolumeClaim" => required("claimName", errs),
            "nfs" => {
                required("server", errs);
                required("path", errs);
                if !get_str(src, "path").starts_with('/') {
                    errs.push(FieldError::invalid_str(
                        &child(&p, "path"),
                        get_str(src, "path"),
                        "must be an absolute path",
                    ));
                }
            }
            "csi" => required("driver", errs),
            "downwardAPI" => file_mode(src, "defaultMode", &p, errs),
            "projected" => {
                file_mode(src, "defaultMode", &p, errs);
                projected_sources(src, &p, errs);
            }
            _ => {}
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
}

pub(super) fn file_mode(src: &Value, k: &str, path: &str, errs: &mut Errs) {
    if let Some(m) = src
        .get(k)
        .and_then(Value::as_i64)
        .filter(|m| !(0..=0o777).contains(m))
    {
        errs.push(FieldError::invalid(
            &child(path, k),
            m.to_string(),
            FILE_MODE,
        ));
    }
}

pub(super) fn key_to_path(item: &Value, path: &str, errs: &mut Errs) {
    if get_str(item, "key").is_empty() {
        errs.push(FieldError::required(&child(path, "key"), ""));
    }
    let p = get_str(item, "path");
    if p.is_empty() {
        errs.push(FieldError::required(&child(path, "path"), ""));
    }
    local_non_reserved_path(p, &child(path, "path"), errs);
    file_mode(item, "mode", path, errs);
}

pub(super) fn no_backsteps(p: &str, path: &str, errs: &mut Errs) {
    if p.replace('\\', "/").split('/').any(|s| s == "..") {
        errs.push(FieldError::invalid_str(path, p, "must not contain '..'"));
    }
}

pub(super) fn local_descending_path(p: &str, path: &str, errs: &mut Errs) {
    if p.starts_with('/') {
        errs.push(FieldError::invalid_str(path, p, "must be a relative path"));
    }
    no_backsteps(p, path, errs);
}

pub(super) fn local_non_reserved_path(p: &str, path: &str, errs: &mut Errs) {
    local_descending_path(p, path, errs);
    if p.starts_with("..") && !p.starts_with("../") {
        errs.push(FieldError::invalid_str(path, p, "must not start with '..'"));
    }
}

pub(super) fn projected_sources(src: &Value, path: &str, errs: &mut Errs) {
    for (i, s) in get_arr(src, "sources").iter().enumerate() {
        let sp = index(&child(path, "sources"), i);
        let kinds = [
            "secret",
            "configMap",
            "downwardAPI",
            "serviceAccountToken",
            "clusterTrustBundle",
            "podCertificate",
        ];
        let given: Vec<&str> = kinds.iter().copied().filter(|k| present(s, k)).collect();
        if given.len() > 1 {
            errs.push(FieldError::forbidden(
                &sp,
                "may not specify more than 1 volume type per source",
            ));
        }
        for k in ["secret", "configMap"] {
            if let Some(o) = s.get(k).filter(|o| !o.is_null()) {
                if get_str(o, "name").is_empty() {
                    errs.push(FieldError::required(&child(&child(&sp, k), "name"), ""));
                }
                for (j, item) in get_arr(o, "items").iter().enumerate() {
                    key_to_path(item, &index(&child(&child(&sp, k), "items"), j), errs);
                }
            }
        }
        if let Some(t) = s.get("serviceAccountToken").filter(|t| !t.is_null()) {
            let tp = child(&sp, "serviceAccountToken");
            let exp = t
                .get("expirationSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if exp < 600 {
                errs.push(FieldError::invalid(
                    &child(&tp, "expirationSeconds"),
                    exp.to_string(),
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if exp > 1 << 32 {
                errs.push(FieldError::invalid(
                    &child(&tp, "expirationSeconds"),
                    exp.to_string(),
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            let p = get_str(t, "path");
            if p.is_empty() {
                // Upstream reports this at the projected volume, not the source.
                errs.push(FieldError::required(&child(path, "path"), ""));
            } else {
                local_non_reserved_path(p, &child(path, "path"), errs);
            }
        }
    }
}
