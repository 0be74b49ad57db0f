// Package validate checks the Kubernetes manifests in deploy/ without a cluster, as
// `kubectl apply --dry-run=client` would: every document decodes strictly (no unknown
// field) into its Kubernetes API type, and the references between them hold. It is a module
// of its own so that k8s.io/api, a large dependency, stays out of Tripline's.
package validate
