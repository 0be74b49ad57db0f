// Package k8saudit turns raw kube-apiserver audit records into the ECS documents that
// Elastic's Kubernetes integration (data stream kubernetes.audit_logs) indexes, so that
// detection rules written against the indexed form run unchanged on raw audit logs.
//
// Accepted inputs, one JSON document each:
//
//   - an audit.k8s.io Event (v1 or v1beta1, as written by --audit-log-path; old traces
//     without apiVersion are accepted when kind is "Event" and auditID is present);
//   - an audit.k8s.io EventList (an audit webhook batch), giving one document per item;
//   - the AKS Azure diagnostic envelope (category, operationName, resourceId, time and
//     properties.log holding the Event as an object or as a JSON string);
//   - the GKE Cloud Logging entry whose protoPayload is a k8s.io AuditLog.
//
// The transformation follows the integration's pipeline step by step (see
// ../shared/docs/data-sources.md §2): the record goes under kubernetes.audit with
// requestObject.metadata and responseObject.metadata dropped; the AKS envelope is kept as
// kubernetes.audit.aks_metadata and its time, truncated to milliseconds, becomes
// @timestamp; GKE fields fill missing auditID, requestReceivedTimestamp, stageTimestamp,
// responseStatus.code and annotations; annotation keys have '.' replaced by '_';
// event.kind, event.action, event.outcome, user.*, user_agent.original, source.ip,
// client.ip, orchestrator.*, related.* are set; and null, "", {} and [] values are
// removed recursively. Keys inside user.extra keep their dots, as in Elasticsearch.
//
// What the pipeline does not set but an Elasticsearch data stream adds is added too:
// data_stream.{type,dataset,namespace} and event.dataset. @timestamp (read time in a
// real deployment) and event.ingested (ingest time) are chosen by Options.
//
// A Normalizer reuses its buffers: after warm-up, normalising an event allocates nothing.
package k8saudit
