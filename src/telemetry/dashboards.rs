//! The dashboards in `template.yaml` (CloudWatch) and `dashboards/` (New Relic) name only
//! metrics, dimensions and attributes the function emits.
