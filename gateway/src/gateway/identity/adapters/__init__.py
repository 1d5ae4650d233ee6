"""Identity's edges: tables, repositories, migrations, password hashing."""
