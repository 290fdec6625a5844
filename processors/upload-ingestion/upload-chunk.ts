/** `sts.upload-chunks.v1` (schemas/upload-chunk.avsc), as decoded. */
export interface UploadChunkRow {
  row_number: bigint;
  raw: string;
  problem: string | null;
}

export interface UploadChunk {
  upload_id: bigint;
  chunk_index: number;
  columns: string[];
  rows: UploadChunkRow[];
}
