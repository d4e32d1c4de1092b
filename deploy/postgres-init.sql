-- Temporal's databases, next to Aether's own (created by POSTGRES_DB).
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
