//! Tags on networks, subnets and ports (`/v2.0/{resources}/{id}/tags`).

use neutrino_model::fault::Resource;
use neutrino_model::{Network, Port, Subnet};
use neutrino_store::DocRow;
use serde_json::Value;

use super::{from_doc, input::validate_tag, network_row, port_row, subnet_row, table_of, touch, Plugin};
use crate::context::RequestContext;
use crate::error::{PluginError, PluginResult};

/// What a tag call does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagTarget {
    /// Replace all tags.
    ReplaceAll(Vec<String>),
    /// Add several tags (keeping the others).
    AddAll(Vec<String>),
    /// Add one tag.
    Add(String),
    /// Remove one tag (404 if absent).
    Remove(String),
    /// Remove every tag.
    RemoveAll,
}

/// Each tag valid, none twice.
fn check_list(tags: &[String]) -> PluginResult<()> {
    for (i, t) in tags.iter().enumerate() {
        validate_tag(t)?;
        if tags[..i].contains(t) {
            return Err(PluginError::BadRequest(format!(
                "Invalid input for tags. Reason: Duplicate items in the list: '{t}'."
            )));
        }
    }
    Ok(())
}

fn row_of(resource: Resource, id: &str, v: &Value) -> PluginResult<DocRow> {
    let table = table_of(resource);
    let doc = v.to_string();
    match resource {
        Resource::Network => network_row(&from_doc::<Network>(table, id, &doc)?),
        Resource::Subnet => subnet_row(&from_doc::<Subnet>(table, id, &doc)?),
        Resource::Port => port_row(&from_doc::<Port>(table, id, &doc)?),
        Resource::Router => super::router::router_row(&from_doc::<neutrino_model::Router>(table, id, &doc)?),
        Resource::FloatingIp => {
            super::floatingip::floatingip_row(&from_doc::<neutrino_model::FloatingIp>(table, id, &doc)?)
        }
        Resource::SecurityGroup => {
            super::security_group::group_row(&from_doc::<neutrino_model::SecurityGroup>(table, id, &doc)?)
        }
        // RBAC policies and rules carry no tags.
        Resource::SecurityGroupRule => Err(PluginError::not_found(resource, id)),
        Resource::RbacPolicy => Err(PluginError::not_found(resource, id)),
    }
}

impl Plugin {
    /// Changes the tags of a resource; returns the new tag list.
    pub async fn change_tags(
        &self,
        ctx: &RequestContext,
        resource: Resource,
        id: &str,
        change: TagTarget,
    ) -> PluginResult<Vec<String>> {
        if matches!(resource, Resource::RbacPolicy | Resource::SecurityGroupRule) {
            return Err(PluginError::not_found(resource, id));
        }
        super::check_writer(ctx, "update", resource)?;
        let mut tx = self.begin().await?;
        let table = table_of(resource);
        let doc = tx.get_doc(table, id, &ctx.scope()).await?.ok_or_else(|| PluginError::not_found(resource, id))?;
        let mut v: Value = from_doc(table, id, &doc)?;
        ctx.enforce(&format!("update_{}:tags", resource.singular()), &crate::context::doc_target(&v, None))?;
        let mut tags: Vec<String> = v
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
            .unwrap_or_default();
        match change {
            TagTarget::ReplaceAll(new) => {
                check_list(&new)?;
                tags = new;
            }
            TagTarget::AddAll(new) => {
                check_list(&new)?;
                for t in new {
                    if !tags.contains(&t) {
                        tags.push(t);
                    }
                }
            }
            TagTarget::Add(t) => {
                validate_tag(&t)?;
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            TagTarget::Remove(t) => {
                if !tags.contains(&t) {
                    return Err(PluginError::TagNotFound {
                        tag: t,
                        resource: resource.singular(),
                        resource_id: id.to_string(),
                    });
                }
                tags.retain(|x| *x != t);
            }
            TagTarget::RemoveAll => tags.clear(),
        }
        if let Value::Object(m) = &mut v {
            m.insert("tags".into(), Value::from(tags.clone()));
            let mut rev = m.get("revision_number").and_then(Value::as_u64).unwrap_or(0);
            let mut updated = String::new();
            touch(&mut rev, &mut updated);
            m.insert("revision_number".into(), Value::from(rev));
            m.insert("updated_at".into(), Value::from(updated));
        }
        tx.update(table, &row_of(resource, id, &v)?).await?;
        tx.set_tags(table, id, &tags).await?;
        self.log_change(&mut tx, resource, super::changes::Op::Update, &v).await?;
        tx.commit().await?;
        self.changed();
        Ok(tags)
    }
}
