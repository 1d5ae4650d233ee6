from billing.adapters.tables import metadata
from studio_platform.migrations import run_migrations

run_migrations(metadata, env_var="DATABASE_URL")
