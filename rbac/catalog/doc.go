// Package catalog exports an rbac policy's entitlements for identity
// governance (IGA) tools such as SailPoint, so the mapping from groups to
// roles, permissions, AWS roles and directory groups is not a shadow
// entitlement store: it can be certified, diffed and reviewed.
//
// # The catalogue
//
// [New] lists, per business group (ID, display name, issuer), every grant
// with the conditions besides membership (other groups, mfa, scopes), the
// roles and their permissions, the AWS roles (ARN, session duration,
// session tags, SourceIdentity claim) and the AD/LDAP groups; the deny
// rules a group triggers; and, per separation-of-duties constraint, the
// group combinations whose members would hold two of its roles. A
// combination within one issuer is denied by rbac at decision time
// (in_one_decision: true); one across issuers (an Entra group and a
// directory group) no single decision sees, so only the governance tool
// can prevent it. Roles reached through provisioning are followed one
// level: a group granted an ad_group that the policy maps to roles
// on-premises holds those roles too (the conflict names the ad_group in
// via).
//
// # JSON schema, version 1
//
// [Catalog.WriteJSON] writes one object; [Read] reads it back and refuses
// another schema_version with [ErrSchemaVersion] and unknown fields with
// [ErrMalformed]. Fields may be added within a version; a field that
// changes meaning or goes away changes [SchemaVersion].
//
//	schema_version  1
//	policy          {file, version}     version: 12 hex digits of the file's SHA-256
//	issuers[]       {name, issuer, group_ids (object_id|dn|name), tenants[]}
//	groups[]        {id, name, issuer, grants[], denied_by[]}
//	  grants[]      {mapping, description, issuer, when[], roles[], permissions[],
//	                 aws[] {role_arn, duration_seconds, session_tags{}, source_identity_claim},
//	                 directory_groups[] {id, name, roles[] (what the directory group grants in turn)}}
//	  denied_by[]   {rule, reason, when[]}
//	roles[]         {name, description, permissions[]}
//	other_grants[]  grants whose condition names no group (same shape as grants[])
//	separation_of_duties[] {id, description, roles[],
//	                 conflicts[] {roles[2], groups[] (names), when[], in_one_decision, via[]}}
//
// Group IDs are normalized as rbac matches them (lower-case GUIDs,
// canonical DNs). when[] strings are rbac's explanations of a test:
// "group NAME", "mfa", "scope S", "app_role R", "acr A", "tenant T",
// `claim NAME="V"`, "issuer NAME".
//
// [Catalog.WriteCSV] flattens the catalogue to one row per group and
// [Entitlement], under the header row schema_version, issuer, group_id,
// group_name, kind, name, detail, when, mapping; [Catalog.WriteConflictsCSV]
// lists the SoD conflicts under schema_version, sod, role_a, role_b,
// groups, when, in_one_decision, via. Cells that a spreadsheet would read as a formula are
// prefixed with a quote.
//
// # Change impact
//
// [Compare] lists, per group, what members gain and lose between two
// catalogues (of two policy versions) and which SoD conflicts appear or
// go away. [WhatIf] answers the mover question for one user: their claims
// decided as they are and with groups added or removed, what they gain
// and lose, and which constraints the move would break.
package catalog
