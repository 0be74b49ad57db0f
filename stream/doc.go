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
// Kafka: start several tripline processes with the same group. The group gives each
// partition of the topic to exactly one of them and moves partitions when a process
// joins, leaves or dies. Event rules (one event, one alert) are correct however events are
// spread. Sequence and sample rules join events by key (`sequence by orchestrator.resource.name`,
// `by host.id`): they are correct only when all the events a match needs reach the same
// process, in order. That holds when producers key each message by the rule's join key
// (the pod name, the host id): Kafka puts one key in one partition, and one partition is
// read by one process, in offset order.
//
// What is not correct otherwise, and should not be relied on:
//   - Messages keyed by something else (or not keyed: round-robin): the events of one
//     sequence land on different processes, and each sees only part of it. Sequences are
//     missed; nothing wrong is reported, something right is not.
//   - Rules with different join keys: a topic is keyed one way. Rules joined by another key
//     need another topic keyed that way (or one process reading every partition).
//   - A rebalance or a restart does not carry the partial sequences held in memory over:
//     with Docs.CommitBelow their events were not committed, so they are read again and
//     the sequences rebuilt, at the price of reading again what they held.
//   - max_signals is counted per process: N processes may write N times a rule's
//     max_signals per interval.
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
// (read_uncommitted is used: aborted records are read); repartitioning by join key.
package stream
