package main

// integrationFields are fields of Elastic integrations that ECS does not define, with the
// type the integration's package gives them. They are the integrations Tripline's sources
// feed (Kubernetes audit logs, Defend for Containers, Elastic Defend): every field of the
// Kubernetes audit data stream, the cloud_defend fields, and the Elastic Defend fields the
// prebuilt detection rules read. Keywords get ignore_above 1024 as Fleet gives them.
//
// Sources (field names and types only):
//   - elastic/integrations packages/kubernetes/data_stream/audit_logs/fields/fields.yml
//     @ a6f7f6f8668fbf9941a984e6d9b6e5b40c5899de;
//   - elastic/integrations packages/cloud_defend/data_stream/process/fields/fields.yml
//     @ bfd7e46176e62df6e7a66a5e6d31583e6155dbb6 (its orchestrator.resource.label and
//     .annotation are flattened there but keyword in ECS: ECS's type is kept, as for every
//     other index the built-in mapping serves);
//   - elastic/endpoint-package package/endpoint/data_stream/*/fields/fields.yml
//     @ 19941229e4e6ced3d81f8e4c53d0a3ae19c88062.
var integrationFields = []field{
	// Kubernetes audit logs.
	{path: "kubernetes.audit.apiVersion", typ: "keyword"},
	{path: "kubernetes.audit.kind", typ: "keyword"},
	{path: "kubernetes.audit.level", typ: "keyword"},
	{path: "kubernetes.audit.auditID", typ: "keyword"},
	{path: "kubernetes.audit.stage", typ: "keyword"},
	{path: "kubernetes.audit.requestURI", typ: "keyword"},
	{path: "kubernetes.audit.verb", typ: "keyword"},
	// The package maps user.groups as text, on which EQL's == is an error in Elasticsearch
	// ("No keyword/multi-field defined exact matches"), yet the prebuilt rule
	// privilege_escalation_sensitive_rbac_change_followed_by_workload_modification compares
	// it with ==: keyword here, so that the rule runs.
	{path: "kubernetes.audit.user.groups", typ: "keyword"},
	{path: "kubernetes.audit.user.username", typ: "keyword"},
	{path: "kubernetes.audit.user.uid", typ: "keyword"},
	{path: "kubernetes.audit.user.extra", typ: "object"},
	{path: "kubernetes.audit.impersonatedUser.groups", typ: "text"},
	{path: "kubernetes.audit.impersonatedUser.username", typ: "keyword"},
	{path: "kubernetes.audit.impersonatedUser.uid", typ: "keyword"},
	{path: "kubernetes.audit.impersonatedUser.extra", typ: "object"},
	{path: "kubernetes.audit.sourceIPs", typ: "text"},
	{path: "kubernetes.audit.userAgent", typ: "keyword"},
	{path: "kubernetes.audit.objectRef.resource", typ: "keyword"},
	{path: "kubernetes.audit.objectRef.namespace", typ: "keyword"},
	{path: "kubernetes.audit.objectRef.name", typ: "keyword"},
	{path: "kubernetes.audit.objectRef.uid", typ: "keyword"},
	{path: "kubernetes.audit.objectRef.apiGroup", typ: "keyword"},
	{path: "kubernetes.audit.objectRef.apiVersion", typ: "keyword"},
	{path: "kubernetes.audit.objectRef.resourceVersion", typ: "keyword"},
	{path: "kubernetes.audit.objectRef.subresource", typ: "keyword"},
	{path: "kubernetes.audit.responseStatus.code", typ: "integer"},
	{path: "kubernetes.audit.responseStatus.status", typ: "keyword"},
	{path: "kubernetes.audit.responseStatus.message", typ: "text"},
	{path: "kubernetes.audit.responseStatus.reason", typ: "keyword"},
	{path: "kubernetes.audit.requestObject.spec.type", typ: "keyword"},
	{path: "kubernetes.audit.requestObject.spec.serviceAccountName", typ: "keyword"},
	{path: "kubernetes.audit.requestObject.spec.restartPolicy", typ: "keyword"},
	{path: "kubernetes.audit.requestObject.spec.hostNetwork", typ: "boolean"},
	{path: "kubernetes.audit.requestObject.spec.hostIPC", typ: "boolean"},
	{path: "kubernetes.audit.requestObject.spec.hostPID", typ: "boolean"},
	{path: "kubernetes.audit.requestObject.spec.volumes.hostPath", typ: "flattened"},
	{path: "kubernetes.audit.requestObject.spec.securityContext.runAsUser", typ: "integer"},
	{path: "kubernetes.audit.requestObject.spec.securityContext.runAsGroup", typ: "integer"},
	{path: "kubernetes.audit.requestObject.spec.securityContext.runAsNonRoot", typ: "boolean"},
	{path: "kubernetes.audit.requestObject.spec.containers.image", typ: "text"},
	{path: "kubernetes.audit.requestObject.spec.containers.volumeMounts", typ: "flattened"},
	{path: "kubernetes.audit.requestObject.spec.containers.securityContext.privileged", typ: "boolean"},
	{path: "kubernetes.audit.requestObject.spec.containers.securityContext.allowPrivilegeEscalation", typ: "boolean"},
	{path: "kubernetes.audit.requestObject.spec.containers.securityContext.runAsUser", typ: "integer"},
	{path: "kubernetes.audit.requestObject.spec.containers.securityContext.runAsGroup", typ: "integer"},
	{path: "kubernetes.audit.requestObject.spec.containers.securityContext.runAsNonRoot", typ: "boolean"},
	{path: "kubernetes.audit.requestObject.spec.containers.securityContext.procMount", typ: "keyword"},
	{path: "kubernetes.audit.requestObject.spec.containers.securityContext.capabilities.add", typ: "keyword"},
	{path: "kubernetes.audit.requestObject.rules", typ: "nested"},
	{path: "kubernetes.audit.responseObject.spec.hostNetwork", typ: "boolean"},
	{path: "kubernetes.audit.responseObject.spec.hostIPC", typ: "boolean"},
	{path: "kubernetes.audit.responseObject.spec.hostPID", typ: "boolean"},
	{path: "kubernetes.audit.responseObject.spec.volumes.hostPath", typ: "flattened"},
	{path: "kubernetes.audit.responseObject.spec.restartPolicy", typ: "keyword"},
	{path: "kubernetes.audit.responseObject.spec.containers.volumeMounts", typ: "flattened"},
	{path: "kubernetes.audit.responseObject.spec.containers.securityContext.privileged", typ: "boolean"},
	{path: "kubernetes.audit.responseObject.spec.containers.securityContext.allowPrivilegeEscalation", typ: "boolean"},
	{path: "kubernetes.audit.responseObject.spec.containers.securityContext.runAsUser", typ: "integer"},
	{path: "kubernetes.audit.responseObject.rules", typ: "nested"},
	{path: "kubernetes.audit.responseObject.roleRef.kind", typ: "keyword"},
	{path: "kubernetes.audit.requestReceivedTimestamp", typ: "date"},
	{path: "kubernetes.audit.stageTimestamp", typ: "date"},
	{path: "kubernetes.audit.annotations.authorization_k8s_io/decision", typ: "keyword"},
	{path: "kubernetes.audit.annotations.authorization_k8s_io/reason", typ: "text"},

	// Defend for Containers (cloud_defend).
	{path: "cloud_defend.matched_selectors", typ: "keyword"},
	{path: "cloud_defend.package_policy_id", typ: "keyword"},
	{path: "cloud_defend.package_policy_revision", typ: "short"},
	{path: "cloud_defend.hook_point", typ: "keyword"},

	// Elastic Defend (endpoint), the fields the prebuilt rules read.
	{path: "Effective_process.executable", typ: "keyword"},
	{path: "Effective_process.name", typ: "keyword"},
	{path: "Persistence.name", typ: "keyword"},
	{path: "dll.Ext.device.product_id", typ: "keyword"},
	{path: "dll.Ext.relative_file_creation_time", typ: "double"},
	{path: "dll.Ext.relative_file_name_modify_time", typ: "double"},
	{path: "file.Ext.entropy", typ: "double"},
	{path: "file.Ext.header_bytes", typ: "keyword"},
	{path: "file.Ext.original.extension", typ: "keyword"},
	{path: "file.Ext.original.name", typ: "keyword"},
	{path: "file.Ext.original.path", typ: "keyword"},
	{path: "file.Ext.windows.zone_identifier", typ: "keyword"},
	{path: "group.Ext.real.id", typ: "keyword"},
	{path: "process.Ext.ancestry", typ: "keyword"},
	{path: "process.Ext.api.name", typ: "keyword"},
	{path: "process.Ext.api.parameters.consumer_type", typ: "keyword"},
	{path: "process.Ext.device.bus_type", typ: "keyword"},
	{path: "process.Ext.device.product_id", typ: "keyword"},
	{path: "process.Ext.effective_parent.entity_id", typ: "keyword"},
	{path: "process.Ext.effective_parent.executable", typ: "keyword"},
	{path: "process.Ext.effective_parent.name", typ: "keyword"},
	{path: "process.Ext.load_module.taint_flags", typ: "keyword"},
	{path: "process.Ext.relative_file_creation_time", typ: "double"},
	{path: "process.Ext.relative_file_name_modify_time", typ: "double"},
	{path: "process.Ext.token.integrity_level_name", typ: "keyword"},
	{path: "process.parent.Ext.real.pid", typ: "long"},
	{path: "user.Ext.real.id", typ: "keyword"},
}
