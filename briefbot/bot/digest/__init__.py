"""The morning digest: schedules, composition, paced fan-out and delivery records."""
