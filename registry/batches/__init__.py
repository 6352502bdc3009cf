"""CSV label batches: an upload stored as a job, validated whole, issued all or none."""
