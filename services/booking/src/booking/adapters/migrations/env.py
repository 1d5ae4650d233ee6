from studio_platform.migrations import run_migrations

from booking.adapters.tables import metadata

run_migrations(metadata, env_var="DATABASE_URL")
