-- One database per service (design §1): no table, join or foreign key crosses them.
CREATE DATABASE enlace_identity;
CREATE DATABASE enlace_clients;
CREATE DATABASE enlace_billing;
CREATE DATABASE enlace_network;
CREATE DATABASE enlace_support;
CREATE DATABASE enlace_portal;
