export { isBinaryPayload } from "./message.ts";
export type { Broadcast, Frame, Message, Payload, Ref, Reply } from "./message.ts";
export { CloseCode } from "./close-codes.ts";
export type { DecodeError, DecodeErrorCode, DecodeResult, Serializer, WireFormat } from "./serializer.ts";
export { v1, v2, v2Text } from "./serializers.ts";
export { DEFAULT_VSN, serializerForVsn } from "./vsn.ts";
export { MAX_BINARY_FIELD_BYTES } from "./v2-binary.ts";
export { decodeServerFrame, encodeClientFrame } from "./client-codec.ts";
export type { FrameEncoding, ServerFrame, ServerFrameResult } from "./client-codec.ts";
