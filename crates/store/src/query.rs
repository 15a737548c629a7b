//! List queries: filters, visibility scope, sorting and keyset pagination,
//! rendered to SQL for a [`Dialect`].

use crate::dialect::Dialect;
use crate::table::Table;

/// A bound SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// NULL.
    Null,
    /// An integer (booleans are 0/1).
    Int(i64),
    /// Text.
    Text(String),
}

/// Who is asking: the visibility rule every query applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Sees every project's resources.
    Admin,
    /// Sees its own project's resources, plus what Neutron's policy shares
    /// (shared and external networks and their subnets; ports on networks it owns).
    Project(String),
}

/// How a tag filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMatch {
    /// `tags`: has all of them.
    All,
    /// `tags-any`: has at least one.
    Any,
    /// `not-tags`: does not have all of them.
    NotAll,
    /// `not-tags-any`: has none of them.
    NotAny,
}

/// One filter condition; conditions are ANDed.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Attribute equals one of the values (a repeated query key is an OR).
    Eq {
        /// API attribute name (validated by the caller).
        attr: String,
        /// Accepted values.
        values: Vec<SqlValue>,
    },
    /// Tag filter.
    Tags(TagMatch, Vec<String>),
    /// Ports with a fixed IP matching every given part.
    FixedIp {
        /// Exact address.
        ip_address: Option<String>,
        /// Subnet id.
        subnet_id: Option<String>,
        /// Substring of the address (`ip_address_substr`).
        ip_address_substr: Option<String>,
    },
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl SortDir {
    fn flip(self) -> Self {
        match self {
            SortDir::Asc => SortDir::Desc,
            SortDir::Desc => SortDir::Asc,
        }
    }
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// API attribute name (validated by the caller).
    pub attr: String,
    /// Direction.
    pub dir: SortDir,
}

/// A list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Visibility.
    pub scope: Scope,
    /// Conditions, ANDed.
    pub filters: Vec<Filter>,
    /// Sort keys; `id` is always appended as the final tie-breaker.
    pub sort: Vec<SortKey>,
    /// Page size; `None` for everything.
    pub limit: Option<u64>,
    /// Id of the row the page starts after.
    pub marker: Option<String>,
    /// Page backwards from the marker.
    pub page_reverse: bool,
}

impl ListQuery {
    /// Everything visible in `scope`, in id order.
    pub fn all(scope: Scope) -> Self {
        ListQuery { scope, filters: Vec::new(), sort: Vec::new(), limit: None, marker: None, page_reverse: false }
    }
}

/// SQL text with its bound values.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<SqlValue>,
}

impl Sql {
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Binds `v` at a `?` (the PostgreSQL connection renumbers them).
    pub fn bind(&mut self, v: SqlValue) {
        self.args.push(v);
        self.text.push('?');
    }
}

/// The SQL expression of an attribute: its column, or its JSON path.
pub(crate) fn attr_expr(dialect: Dialect, table: Table, attr: &str) -> String {
    match table.column_for(attr) {
        Some(col) => format!("{}.{col}", table.name()),
        None => dialect.json_scalar(&format!("{}.doc", table.name()), attr),
    }
}

/// A value compared with an attribute's expression (JSON attributes take
/// the dialect's JSON form).
fn arg(dialect: Dialect, table: Table, attr: &str, v: SqlValue) -> SqlValue {
    match table.column_for(attr) {
        Some(_) => v,
        None => dialect.json_arg(v),
    }
}

/// Networks shared with (or made external for) a project through RBAC; the
/// project is bound right after this text.
const RBAC_TARGETS: &str =
    "SELECT r.object_id FROM rbac_policies r WHERE r.object_type = 'network' AND r.target_tenant IN ('*', ";

/// Appends the visibility condition of `scope` (or `1=1`).
pub(crate) fn push_scope(sql: &mut Sql, table: Table, scope: &Scope) {
    let Scope::Project(project) = scope else {
        sql.push("1=1");
        return;
    };
    let t = table.name();
    match table {
        Table::Networks => {
            sql.push(&format!("({t}.project_id = "));
            sql.bind(SqlValue::Text(project.clone()));
            sql.push(&format!(" OR {t}.shared = 1 OR {t}.router_external = 1 OR {t}.id IN ({RBAC_TARGETS}"));
            sql.bind(SqlValue::Text(project.clone()));
            sql.push(")))");
        }
        Table::Subnets => {
            sql.push(&format!("({t}.project_id = "));
            sql.bind(SqlValue::Text(project.clone()));
            sql.push(&format!(
                " OR {t}.network_id IN (SELECT n.id FROM networks n WHERE n.shared = 1 OR n.router_external = 1) \
                 OR {t}.network_id IN ({RBAC_TARGETS}"
            ));
            sql.bind(SqlValue::Text(project.clone()));
            sql.push(")))");
        }
        Table::Ports => {
            sql.push(&format!("({t}.project_id = "));
            sql.bind(SqlValue::Text(project.clone()));
            sql.push(&format!(" OR {t}.network_id IN (SELECT n.id FROM networks n WHERE n.project_id = "));
            sql.bind(SqlValue::Text(project.clone()));
            sql.push("))");
        }
        Table::RbacPolicies
        | Table::Routers
        | Table::FloatingIps
        | Table::SecurityGroups
        | Table::SecurityGroupRules => {
            sql.push(&format!("({t}.project_id = "));
            sql.bind(SqlValue::Text(project.clone()));
            sql.push(")");
        }
        // A port forwarding is its floating IP's owner's.
        Table::PortForwardings => {
            sql.push(&format!("({t}.floatingip_id IN (SELECT f.id FROM floatingips f WHERE f.project_id = "));
            sql.bind(SqlValue::Text(project.clone()));
            sql.push("))");
        }
        // Identity records are read only through the identity's own checks.
        _ => sql.push("1=0"),
    }
}

fn push_filter(sql: &mut Sql, dialect: Dialect, table: Table, filter: &Filter) {
    let t = table.name();
    match filter {
        Filter::Eq { attr, values } => {
            if values.is_empty() {
                sql.push("1=0");
                return;
            }
            let expr = attr_expr(dialect, table, attr);
            sql.push("(");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                if *v == SqlValue::Null {
                    sql.push(&format!("{expr} IS NULL"));
                } else {
                    sql.push(&format!("{expr} = "));
                    sql.bind(arg(dialect, table, attr, v.clone()));
                }
            }
            sql.push(")");
        }
        Filter::Tags(mode, tags) => {
            let rt = table.resource_type();
            let has = |sql: &mut Sql, tag: &str| {
                sql.push(&format!(
                    "EXISTS (SELECT 1 FROM tags g WHERE g.resource_type = '{rt}' AND g.resource_id = {t}.id AND g.tag = "
                ));
                sql.bind(SqlValue::Text(tag.to_string()));
                sql.push(")");
            };
            let (join, negate) = match mode {
                TagMatch::All => (" AND ", false),
                TagMatch::Any => (" OR ", false),
                TagMatch::NotAll => (" AND ", true),
                TagMatch::NotAny => (" OR ", true),
            };
            sql.push(if negate { "NOT (" } else { "(" });
            if tags.is_empty() {
                sql.push("1=1");
            }
            for (i, tag) in tags.iter().enumerate() {
                if i > 0 {
                    sql.push(join);
                }
                has(sql, tag);
            }
            sql.push(")");
        }
        Filter::FixedIp { ip_address, subnet_id, ip_address_substr } => {
            sql.push(&format!("EXISTS (SELECT 1 FROM ipallocations a WHERE a.port_id = {t}.id"));
            if let Some(ip) = ip_address {
                sql.push(" AND a.ip_address = ");
                sql.bind(SqlValue::Text(ip.clone()));
            }
            if let Some(subnet) = subnet_id {
                sql.push(" AND a.subnet_id = ");
                sql.bind(SqlValue::Text(subnet.clone()));
            }
            if let Some(sub) = ip_address_substr {
                sql.push(&format!(" AND {}(a.ip_address, ", dialect.position_fn()));
                sql.bind(SqlValue::Text(sub.clone()));
                sql.push(") > 0");
            }
            sql.push(")");
        }
    }
}

/// Builds `SELECT <doc> FROM table WHERE scope AND filters [AND after-marker]
/// ORDER BY … LIMIT …`. `marker_values` are the marker row's sort values (the
/// sort keys, then id), fetched by the caller.
pub(crate) fn build_list(
    dialect: Dialect,
    table: Table,
    q: &ListQuery,
    marker_values: Option<&[SqlValue]>,
    limit: Option<u64>,
) -> Sql {
    let t = table.name();
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {t}.doc FROM {t} WHERE "));
    push_scope(&mut sql, table, &q.scope);
    for f in &q.filters {
        sql.push(" AND ");
        push_filter(&mut sql, dialect, table, f);
    }
    let keys = effective_sort(q);
    if let Some(values) = marker_values {
        sql.push(" AND (");
        push_after(&mut sql, dialect, table, &keys, values);
        sql.push(")");
    }
    sql.push(" ORDER BY ");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let dir = dialect.order(key.dir == SortDir::Asc);
        sql.push(&format!("{} {dir}", attr_expr(dialect, table, &key.attr)));
    }
    if let Some(limit) = limit {
        sql.push(&format!(" LIMIT {limit}"));
    }
    sql
}

/// The sort keys actually used: the requested ones (flipped when paging in
/// reverse) and `id` as the tie-breaker.
pub(crate) fn effective_sort(q: &ListQuery) -> Vec<SortKey> {
    let mut keys: Vec<SortKey> = q.sort.iter().filter(|k| k.attr != "id").cloned().collect();
    let id_dir = q
        .sort
        .iter()
        .find(|k| k.attr == "id")
        .map(|k| k.dir)
        .or_else(|| keys.last().map(|k| k.dir))
        .unwrap_or(SortDir::Asc);
    keys.push(SortKey { attr: "id".into(), dir: id_dir });
    if q.page_reverse {
        for k in &mut keys {
            k.dir = k.dir.flip();
        }
    }
    keys
}

/// `SELECT <sort exprs> FROM table WHERE id = ?` for the marker row.
pub(crate) fn build_marker_values(dialect: Dialect, table: Table, keys: &[SortKey], id: &str) -> Sql {
    let mut sql = Sql::default();
    let exprs: Vec<String> = keys.iter().map(|k| attr_expr(dialect, table, &k.attr)).collect();
    sql.push(&format!("SELECT {} FROM {} WHERE {}.id = ", exprs.join(", "), table.name(), table.name()));
    sql.bind(SqlValue::Text(id.to_string()));
    sql
}

/// Lexicographic "row comes after the marker" in the sort order. NULLs sort
/// first ascending (SQLite's order).
fn push_after(sql: &mut Sql, dialect: Dialect, table: Table, keys: &[SortKey], values: &[SqlValue]) {
    for i in 0..keys.len() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        for (j, key) in keys.iter().enumerate().take(i) {
            let expr = attr_expr(dialect, table, &key.attr);
            if j > 0 {
                sql.push(" AND ");
            }
            match values.get(j) {
                Some(SqlValue::Null) | None => sql.push(&format!("{expr} IS NULL")),
                Some(v) => {
                    sql.push(&format!("{expr} = "));
                    sql.bind(arg(dialect, table, &key.attr, v.clone()));
                }
            }
        }
        if i > 0 {
            sql.push(" AND ");
        }
        let key = &keys[i];
        let expr = attr_expr(dialect, table, &key.attr);
        match (values.get(i).unwrap_or(&SqlValue::Null), key.dir) {
            (SqlValue::Null, SortDir::Asc) => sql.push(&format!("{expr} IS NOT NULL")),
            (SqlValue::Null, SortDir::Desc) => sql.push("1=0"),
            (v, SortDir::Asc) => {
                sql.push(&format!("{expr} > "));
                sql.bind(arg(dialect, table, &key.attr, v.clone()));
            }
            (v, SortDir::Desc) => {
                sql.push(&format!("({expr} < "));
                sql.bind(arg(dialect, table, &key.attr, v.clone()));
                sql.push(&format!(" OR {expr} IS NULL)"));
            }
        }
        sql.push(")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_sql_scopes_filters_and_orders() {
        let q = ListQuery {
            scope: Scope::Project("p1".into()),
            filters: vec![
                Filter::Eq {
                    attr: "name".into(),
                    values: vec![SqlValue::Text("a".into()), SqlValue::Text("b".into())],
                },
                Filter::Eq { attr: "admin_state_up".into(), values: vec![SqlValue::Int(1)] },
            ],
            sort: vec![SortKey { attr: "name".into(), dir: SortDir::Desc }],
            limit: Some(3),
            marker: None,
            page_reverse: false,
        };
        let sql = build_list(Dialect::Sqlite, Table::Networks, &q, None, Some(4));
        assert_eq!(
            sql.text,
            "SELECT networks.doc FROM networks WHERE (networks.project_id = ? OR networks.shared = 1 OR networks.router_external = 1 \
             OR networks.id IN (SELECT r.object_id FROM rbac_policies r WHERE r.object_type = 'network' AND r.target_tenant IN ('*', ?))) \
             AND (networks.name = ? OR networks.name = ?) \
             AND (json_extract(networks.doc, '$.\"admin_state_up\"') = ?) \
             ORDER BY networks.name DESC, networks.id DESC LIMIT 4"
        );
        assert_eq!(sql.args.len(), 5);
    }

    #[test]
    fn reverse_paging_flips_every_key() {
        let mut q = ListQuery::all(Scope::Admin);
        q.sort = vec![SortKey { attr: "name".into(), dir: SortDir::Asc }];
        q.page_reverse = true;
        let keys = effective_sort(&q);
        assert_eq!(keys[0].dir, SortDir::Desc);
        assert_eq!(keys[1].attr, "id");
        assert_eq!(keys[1].dir, SortDir::Desc);
    }

    #[test]
    fn empty_value_list_matches_nothing() {
        let mut q = ListQuery::all(Scope::Admin);
        q.filters.push(Filter::Eq { attr: "name".into(), values: vec![] });
        let sql = build_list(Dialect::Sqlite, Table::Ports, &q, None, None);
        assert!(sql.text.contains("1=0"));
    }
}
