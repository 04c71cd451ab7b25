-- Run once by the postgres image when it initialises its data directory (docker-entrypoint-initdb.d).
-- keyshift (POSTGRES_USER) owns the schema and applies migrations; the API and worker log in as
-- keyshift_app, a member of keyshift_runtime, to which the migrations grant what the runtime may do:
-- no DDL, and only INSERT and SELECT on the audit log.
CREATE ROLE keyshift_runtime NOLOGIN;
CREATE ROLE keyshift_app LOGIN PASSWORD 'keyshift_app' IN ROLE keyshift_runtime;
