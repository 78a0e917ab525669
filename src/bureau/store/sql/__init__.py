"""The SQL store: one set of operations (SQLAlchemy Core), a backend per dialect."""
