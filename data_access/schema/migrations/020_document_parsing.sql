-- DATA: documents become text a template can use. Parsing a volume writes, per file, its state and
-- whole text (`document_files`, which a sheet joins by volume and file stem as `parsed_text`),
-- per page how its text was read and how sure the reading is (`document_pages`), and the page's
-- layout blocks in reading order with their position in points (`document_chunks`).
-- document_files.status: parsed | failed (error says why, in a person's words).
-- document_pages.method: text_layer | ocr | ai_parse_document; confidence: 1.0 for a text layer,
-- Tesseract's mean word confidence (0..1) for OCR, NULL where the parser reports none.
-- fingerprint: the file's size and modification time when parsed; a file whose fingerprint is
-- unchanged is not parsed again (a resumed job skips what it did).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.document_files (
  file_path STRING NOT NULL,
  volume_path STRING NOT NULL,
  file_stem STRING NOT NULL,
  fingerprint STRING,
  status STRING NOT NULL,
  error STRING,
  page_count INT,
  parsed_text STRING,
  job_id STRING,
  parsed_by STRING,
  parsed_at TIMESTAMP,
  CONSTRAINT document_files_pk PRIMARY KEY (file_path)
);
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.document_pages (
  file_path STRING NOT NULL,
  volume_path STRING NOT NULL,
  page_number INT NOT NULL,
  method STRING NOT NULL,
  confidence DOUBLE,
  text STRING,
  CONSTRAINT document_pages_pk PRIMARY KEY (file_path, page_number)
);
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.document_chunks (
  file_path STRING NOT NULL,
  volume_path STRING NOT NULL,
  page_number INT NOT NULL,
  chunk_index INT NOT NULL,
  text STRING NOT NULL,
  x0 DOUBLE,
  y0 DOUBLE,
  x1 DOUBLE,
  y1 DOUBLE,
  CONSTRAINT document_chunks_pk PRIMARY KEY (file_path, page_number, chunk_index)
);
