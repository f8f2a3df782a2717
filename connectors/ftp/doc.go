// Package ftp is a source connector that picks files up from FTP, FTPS
// (explicit and implicit) and SFTP servers and writes their records to
// Kafka: lines, CSV rows, JSON lines or whole files, from plain or
// gzipped files in any of the usual character sets.
//
// A task lists its input directories on one connection, streaming the
// listing, and keeps a bounded number of new files in read order. A file
// is read once it is complete: its size and modification time stayed the
// same across listings file.minimum.age.ms apart, or a done-marker file
// stands beside it. Files are read one at a time on the same connection
// (jlaffaye/ftp for FTP and FTPS, pkg/sftp over x/crypto/ssh for SFTP),
// through a parser that knows the byte position after every record;
// small files are fetched ahead on a second connection, so their round
// trips overlap, and read from memory in their turn.
//
// Each file is a source partition: its identity {path, size, modified}.
// The offset of a record says how many records, line breaks and bytes
// precede the next one, and whether it was the file's last. A restarted
// task resumes a file mid-way (REST, or a seek), or skips to the position
// when the server refuses or the file is gzipped. A file is moved or
// deleted only after the offsets of all its records are committed
// (connect.Committer); a finished file whose cleanup did not happen is
// cleaned up, not read, after a restart. With cleanup.policy=none the
// finished files' offsets are the record of what was read; the task
// forgets (tombstones) the offsets of files that are gone from the
// server, so the record holds the files still there, no more.
//
// Bad files do not stop the others: a file that cannot be downloaded or
// parsed goes to error.path (or is remembered as failed), with the reason
// in the log and the task's progress. A lost connection is opened again
// with backoff, and the file being read resumes after its last record.
package ftp
