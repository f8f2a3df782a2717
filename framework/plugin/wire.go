package plugin

import (
	"github.com/connectd/connectd/framework/connect"
	pb "github.com/connectd/connectd/framework/plugin/internal/pluginpb"
)

// Converters between the SDK's types and the generated protobuf types. Only
// this file and the gRPC glue see pb.

func toPBError(e *RecordError) *pb.RecordError {
	if e == nil {
		return nil
	}
	return &pb.RecordError{Stage: e.Stage, ClassName: e.ClassName, ExceptionClass: e.ExceptionClass, Message: e.Message, Trace: e.Trace, Retriable: e.Retriable}
}

func fromPBError(p *pb.RecordError) *RecordError {
	if p == nil {
		return nil
	}
	return &RecordError{Stage: p.Stage, ClassName: p.ClassName, ExceptionClass: p.ExceptionClass, Message: p.Message, Trace: p.Trace, Retriable: p.Retriable}
}

func toPBOffsets(os []connect.SourceOffset) ([]*pb.Offset, error) {
	out := make([]*pb.Offset, 0, len(os))
	for _, o := range os {
		p, err := EncodeMap(o.Partition)
		if err != nil {
			return nil, err
		}
		v, err := EncodeMap(o.Offset)
		if err != nil {
			return nil, err
		}
		out = append(out, &pb.Offset{Partition: p, Offset: v})
	}
	return out, nil
}

func fromPBOffsets(ps []*pb.Offset) ([]connect.SourceOffset, error) {
	out := make([]connect.SourceOffset, 0, len(ps))
	for _, p := range ps {
		part, err := DecodeMap(p.Partition)
		if err != nil {
			return nil, err
		}
		off, err := DecodeMap(p.Offset)
		if err != nil {
			return nil, err
		}
		out = append(out, connect.SourceOffset{Partition: part, Offset: off})
	}
	return out, nil
}

func toPBPartitions(tps []connect.TopicPartition) *pb.Partitions {
	out := &pb.Partitions{Partitions: make([]*pb.TopicPartition, len(tps))}
	for i, tp := range tps {
		out.Partitions[i] = &pb.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}
	}
	return out
}

func fromPBPartitions(p *pb.Partitions) []connect.TopicPartition {
	out := make([]connect.TopicPartition, len(p.GetPartitions()))
	for i, tp := range p.GetPartitions() {
		out[i] = connect.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}
	}
	return out
}

func toPBPartitionOffsets(offsets map[connect.TopicPartition]int64) []*pb.PartitionOffset {
	out := make([]*pb.PartitionOffset, 0, len(offsets))
	for tp, o := range offsets {
		out = append(out, &pb.PartitionOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: o})
	}
	return out
}

func fromPBPartitionOffsets(pos []*pb.PartitionOffset) map[connect.TopicPartition]int64 {
	out := make(map[connect.TopicPartition]int64, len(pos))
	for _, o := range pos {
		out[connect.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
	}
	return out
}

func toPBConfigDef(def *connect.ConfigDef) []*pb.ConfigKey {
	keys := def.Keys()
	out := make([]*pb.ConfigKey, len(keys))
	for i, k := range keys {
		out[i] = &pb.ConfigKey{
			Name: k.Name, Type: string(k.Type), Default: k.Default, Required: k.Required,
			Importance: string(k.Importance), Doc: k.Doc, Group: k.Group, Width: string(k.Width),
			DisplayName: k.DisplayName, Dependents: k.Dependents, Recommended: k.Recommended,
		}
	}
	return out
}

// fromPBConfigDef rebuilds a definition on the worker side. Validators do
// not cross the boundary: validation runs in the plugin (Validate).
func fromPBConfigDef(ks []*pb.ConfigKey) *connect.ConfigDef {
	def := connect.NewConfigDef()
	for _, k := range ks {
		def.Define(connect.ConfigKey{
			Name: k.Name, Type: connect.ConfigType(k.Type), Default: k.Default, Required: k.Required,
			Importance: connect.Importance(k.Importance), Doc: k.Doc, Group: k.Group, Width: connect.Width(k.Width),
			DisplayName: k.DisplayName, Dependents: k.Dependents, Recommended: k.Recommended,
		})
	}
	return def
}
