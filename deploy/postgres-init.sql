-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
-- One database per component: each service owns its schema and migrates it alone.
CREATE DATABASE gateway;
CREATE DATABASE scheduling;
CREATE DATABASE booking;
CREATE DATABASE billing;
CREATE DATABASE engagement;
CREATE DATABASE notifications;
CREATE DATABASE reporting;
