// Package stream reads event documents from a distributed log, Kafka or NATS JetStream,
// so that detection runs on as many machines as the log has partitions, with no cluster
// of Tripline's own: the broker shares out the work and remembers how far it went.
//
// A Source is read like package ingest's Reader: Next returns one Record (the JSON
// document, a Source such as "kafka:events/3" or "nats:EVENTS", and a Position, the Kafka
// offset or the JetStream stream sequence, which together name the message as FILE:LINE
// names a line), and a *PositionError for a message that is not a JSON object, which the
// caller reports and skips. Parse turns a command-line URL into a Config, and Open makes
// the Source:
//
//	kafka://broker1:9092,broker2:9092/events?group=tripline
//	nats://nats1:4222/EVENTS?subject=events.>&durable=tripline
//
// # At-least-once
//
// The caller calls Commit(rec) once rec was fully processed, that is once every alert it
// produced was written by the outputs. Only then is the message acknowledged (JetStream)
// or its offset made committable (Kafka: a partition's committed offset is the one after
// the longest run of committed records, so records may be committed out of order and an
// offset never passes a record still being worked on). Kafka offsets are sent to the
// group every CommitInterval, when the group takes a partition away, and by Close; a
// JetStream acknowledgement is sent at once, and Close waits until the server has them.
//
// So a message whose Commit was not reached is read again after a crash, a restart or a
// rebalance, by this process or another: nothing is lost, and some events may be
// processed twice. Alerts carry ids derived from their events (package detect), so an
// output that deduplicates by id (Elasticsearch with create and _id) absorbs the repeats;
// others see them twice. Docs.CommitBelow makes commits wait until a detector is finished
// with a message's events (out of its reordering buffer and of the partial sequences that
// may still complete: detect.Detector.Unfinished), so that a crash loses no alert. A
// JetStream message held that long is told in progress every AckWait/3, so that the server
// does not deliver it again meanwhile (a delivery that comes anyway is absorbed); held
// messages count towards MaxAckPending.
//
// # Event-time order
//
// A Kafka Source hands out the records of its partitions merged in event-time order
// (KafkaConfig.EventTime: @timestamp by default): the queued head with the smallest time
// first, waiting at most KafkaConfig.PartitionWait for a partition with nothing queued
// before going on without it. So one process over many partitions gives a detector the
// order of one file sorted by time, and its reordering window (--max-lateness) only absorbs
// the disorder within a partition. A JetStream durable consumer delivers in stream order:
// there is nothing to merge.
//
// A malformed message is never lost silently: Next returns it with a *PositionError,
// and it counts as processed once the caller calls Next again (it was reported).
//
// When the context given to Open is cancelled, Next returns its error. The caller then
// finishes what it holds (the detector's Close flushes pending alerts), and calls Close,
// which sends the committed Kafka offsets and leaves the group, or naks the JetStream
// messages received and never committed so that they are delivered again at once.
//
// # Scaling out
//
// Kafka: start several tripline processes with the same group (?group=G). The group gives
// each partition of the input topic T to exactly one of them and moves partitions when a
// process joins, leaves or dies. Event rules (one event, one alert) are correct however
// events are spread. Sequences and samples join events by key, and prebuilt rules join on
// many different fields (often a different one per stage), so no keying of T serves them
// all: the processes share them out by join key themselves, through an internal topic, as
// Kafka Streams' repartitioning does. Kafka is the whole engine: there is no coordination of
// Tripline's own.
//
//   - Topics and groups. G-repartition (RepartitionTopic) is created when missing
//     (CreateTopics; EnsureRepartitionTopic) with T's partition count, or
//     ?repartition_partitions=N, and the brokers' default replication and retention. Do not
//     change its partition count while the group has records to read (join keys would
//     move). It is read by the consumer group G-repartition.
//   - Each process reads T in group G (Docs). Its detector runs the event, query, indicator
//     match, threshold and new-terms rules, and sends each event that a stage of a sequence
//     or sample can take (its filter, the rule's filters and exceptions, and the stage's join
//     keys present) to the partitions of G-repartition owning its join keys
//     (RepartitionWriter): once per partition, whatever the number of keys and rules that
//     lead there. A join key is a rule's signature (detect.JoinSignature: the fields each
//     stage joins on, for example "[kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name]
//     [orchestrator.resource.name]" for the seed rule) and the event's key values under one
//     of the stage's `by` fields, as the engine compares them; the owner is
//     KeyPartition(signature, tuple, partitions). An event whose non-optional join key is
//     null or missing is not sent for that stage, as Elasticsearch never joins it; an
//     optional key (?field) may be null, and null is one key. A multi-valued key gives a
//     tuple per combination of values. A sequence without `by` has one key: every event its
//     stages take goes to one partition.
//   - Each process also reads G-repartition in group G-repartition (ReadRepartitioned): for
//     each partition it owns, a detector runs the sequences and samples over the join keys
//     that partition owns (detect.Options.OwnsKey); the events of other keys that reach it
//     (an event may have several) change nothing.
//
// Order. The records of a repartition partition come from every process reading T, each
// at its own pace. Every 200ms, every 2,000 events and when it has read an input partition to
// its end, a process sends each repartition partition a watermark for each input partition
// it reads: how far (offset and event time) it has sent it, and whether it is at its end.
// The reader of a repartition partition merges its records by event time across input
// partitions: it hands the detector the smallest head once every other input partition has
// a head, or a watermark as late, or is idle (at its end, and still at its end in T's end
// offsets read after the head came), or has sent nothing for ?source_wait= (2 minutes: longer
// than a group takes to move a dead process's partitions, its session timeout, or its
// rebalance timeout when a process restarts before that). So a detector sees one stream in
// time order, as a file sorted by time, whatever the processes' speeds. A record whose
// input offset is not after the last one taken in from its input partition is dropped: it
// was sent again by the process that took the input partition over.
//
// Commits. An input message is committed once the reading detector is finished with its
// events and the brokers have acknowledged their copies (acks=all, idempotent producer),
// message by message (Docs.CommitHeld): the messages of a partition taken over from a
// stopped process, older than the events held, are committed as they are finished. Event
// rules take such late events at once rather than refuse them (detect.Options.TakeLate).
// A repartition partition is committed below the events its detector holds (reordering
// buffer, partial sequences that may still complete, and the hits of samples, which emit
// only when the process stops), with, as the commit's metadata, how far each input
// partition was taken in, so that a new owner drops what is sent again. The repartition
// topic is the changelog of the sequences' and samples' state: a partition that moves, or
// a process that restarts, rebuilds it by reading the partition again from its committed
// offset. Delivery is at least once: what is read again gives alerts with the same ids,
// which an output that deduplicates by id (Elasticsearch) stores once.
//
// Failures. A killed process's partitions move once its session times out
// (?session_timeout=, 45s by default), or after the rebalance timeout (?rebalance_timeout=,
// 60s) when a process joins meanwhile; the other processes' merges wait for its input
// partitions meanwhile, holding what comes (at most 500,000 records per repartition
// partition; past that they stop waiting, and what comes late may be later than
// --max-lateness). A record the producer cannot send (larger than the topic's
// max.message.bytes) stops the process with the error.
//
// ?repartition=false reads T as it is partitioned, without G-repartition: correct for
// sequences and samples only when producers key messages by the one join key every rule
// uses, so that one key's events are in one partition, read by one process.
//
// Not shared out yet: max_signals is counted per detector (a rule's alerts per interval
// may reach max_signals times the repartition partitions); threshold and new-terms rules
// keep their state where the events are read (correct across processes only when T is
// keyed by their group-by fields); detect.Options.State is the seam for changelog-backed
// state (one store per repartition partition, given where its detector is built).
//
// NATS JetStream: processes that give the same durable consumer name share its messages,
// but the server hands out messages one by one to whichever process pulls, with no notion
// of key: only event rules are correct across several processes. For sequences, partition
// the subjects by key on the server: publish with the join key as a subject token
// (events.POD) and map it deterministically, e.g. events.* to
// events.{{partition(4,1)}}.{{wildcard(1)}}; then give each process its own partition
// subject and its own durable (?subject=events.2.>&durable=tripline-2). One process per
// partition, no automatic takeover when it dies. A redelivery (after a nak, or after
// AckWait for a message whose process died) comes out of order.
//
// # State in the log
//
// A ChangelogStore keeps a detect.StateStore (threshold and new-terms state) in one
// partition of a compacted changelog topic (ChangelogTopic: "GROUP-changelog",
// cleanup.policy=compact, as many partitions as the topic it shadows; EnsureChangelogTopic
// makes it), as Kafka Streams keeps a task's state store, with a cache in memory for
// reads. A record's key is the namespace's length (uvarint), the namespace and the key, so
// no two pairs share a record key; a deleted key is a tombstone, and DeleteRange writes a
// tombstone for each key in range the store holds.
//
// The owner of input partition P holds the store of changelog partition P:
// NewChangelogStore and Restore when the partition is assigned (Restore reads the
// partition's committed records up to its end, and fences the previous owner), then the
// partition's detector (detect.Options.State: New reads the restored state), which Puts,
// Deletes and DeleteRanges; Checkpoint from time to time; Close when the partition is
// revoked.
//
// A Checkpoint writes the changes buffered since the last one and a mark, in one Kafka
// transaction whose transactional id is the changelog partition's: a checkpoint is
// restored whole or not at all, and a process that lost the partition (its Checkpoint is
// fenced by the new owner's Restore) cannot write over the new owner's state. The mark
// says which input the checkpoint covers: the offset of the first input record whose
// effects it may lack, that is the oldest record the detector still holds
// (detect.Detector.Unfinished) or else the next one to read. The order is:
//
//  1. take the mark, the alerts of everything processed so far written by the outputs;
//  2. Checkpoint(mark), which returns once the brokers committed it;
//  3. only then commit the input offsets, up to the mark at most.
//
// So the committed input offset never passes the state: after a crash, the next owner
// restores the last checkpoint and reads the input again from its mark (records between
// the committed offset and the mark are covered by the state and may be skipped), and the
// rules take records already in the state once (threshold events are kept by input
// position, a new-terms value seen again at the same time is not new). The alerts written
// between the last checkpoint and the crash may be written again, with the same ids.
//
// # Credentials
//
// TLS, Kafka SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and NATS user and password, token
// or credentials file are given as Credentials, not in the URL.
//
// # Not supported yet
//
// Kafka topic patterns and several topics in one Source; one message holding several
// events (each message is one JSON object); reading input written by Kafka transactions
// (read_uncommitted is used: aborted records are read); exactly-once output; the changelog
// store is not yet given to the repartition partitions' detectors (threshold and new-terms
// rules still run where the event is read); repartitioning over NATS JetStream.
package stream
