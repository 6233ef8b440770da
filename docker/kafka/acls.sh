#!/bin/sh
# Creates Enlace's topics and grants each Kafka principal only what it needs (docs/deploy-kafka.md).
# Run once by the compose service "kafka-acls" as the super user "admin"; safe to run again.
set -eu

BOOTSTRAP=kafka:9092
BIN=/opt/kafka/bin
CONFIG=/tmp/admin.properties
cat > "$CONFIG" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/tls/ca.pem
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
PROPS

topics() { "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CONFIG" "$@"; }
acl() { "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CONFIG" --add --force "$@"; }

# Topics are created here (auto-creation is off: a principal cannot conjure a topic).
for topic in enlace.identity.events.v1 enlace.clients.events.v1 enlace.billing.events.v1 \
             enlace.network.events.v1 enlace.network.commands.v1 enlace.network.results.v1; do
  topics --create --if-not-exists --topic "$topic" --partitions 6
  topics --create --if-not-exists --topic "$topic.dlq" --partitions 1
done

# network: the network service (API, its consumers, its outbox relay). The ONLY writer of the
# commands the netagent executes on the routers.
acl --allow-principal User:network --operation Write --operation Describe \
    --topic enlace.network.commands.v1 --topic enlace.network.events.v1 \
    --topic enlace.network.results.v1.dlq --topic enlace.billing.events.v1.dlq \
    --topic enlace.clients.events.v1.dlq
acl --allow-principal User:network --operation Read --operation Describe \
    --topic enlace.network.results.v1 --topic enlace.billing.events.v1 --topic enlace.clients.events.v1
acl --allow-principal User:network --operation Read --group enlace.network. --resource-pattern-type prefixed

# netagent: reads the commands, and is the ONLY writer of their results (and of their DLQ).
acl --allow-principal User:netagent --operation Read --operation Describe --topic enlace.network.commands.v1
acl --allow-principal User:netagent --operation Write --operation Describe \
    --topic enlace.network.results.v1 --topic enlace.network.commands.v1.dlq
acl --allow-principal User:netagent --operation Read --group netagent --resource-pattern-type prefixed

# backoffice: identity, clients, billing, support (their APIs, consumers and outbox relay).
acl --allow-principal User:backoffice --operation Write --operation Describe \
    --topic enlace.identity.events.v1 --topic enlace.clients.events.v1 --topic enlace.billing.events.v1 \
    --topic enlace.identity.events.v1.dlq --topic enlace.clients.events.v1.dlq \
    --topic enlace.billing.events.v1.dlq --topic enlace.network.events.v1.dlq
acl --allow-principal User:backoffice --operation Read --operation Describe \
    --topic enlace.identity.events.v1 --topic enlace.clients.events.v1 --topic enlace.billing.events.v1 \
    --topic enlace.network.events.v1
acl --allow-principal User:backoffice --operation Read --group enlace. --resource-pattern-type prefixed

# portal: reads the events it turns into notifications; writes only their DLQs.
acl --allow-principal User:portal --operation Read --operation Describe \
    --topic enlace.identity.events.v1 --topic enlace.network.events.v1 --topic enlace.billing.events.v1 \
    --topic enlace.clients.events.v1
acl --allow-principal User:portal --operation Write --operation Describe \
    --topic enlace.identity.events.v1.dlq --topic enlace.network.events.v1.dlq \
    --topic enlace.billing.events.v1.dlq --topic enlace.clients.events.v1.dlq
acl --allow-principal User:portal --operation Read --group portal- --resource-pattern-type prefixed

echo "kafka-acls: topics and ACLs in place"
