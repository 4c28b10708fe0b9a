//! SPDY/3.1 framing as the Kubernetes streaming protocols use it: control
//! and data frames, and name/value header blocks compressed with zlib
//! primed with the protocol's dictionary. Flow control is not applied:
//! the clients (spdystream) neither send nor honour window updates.

use bytes::{BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The zlib dictionary SPDY/3 defines for header blocks.
const DICTIONARY: &[u8] = include_bytes!("spdy3.dict");
const VERSION: u16 = 3;
/// Largest frame accepted from a client; kubectl sends 32 KiB data frames.
const MAX_FRAME: usize = 16 * 1024 * 1024;
/// Largest decompressed header block accepted.
const MAX_HEADERS: usize = 256 * 1024;

pub(super) const FLAG_FIN: u8 = 0x01;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

#[derive(Debug, thiserror::Error)]
pub(super) enum Error {
    #[error("read spdy frame")]
    Read(#[from] std::io::Error),
    #[error("spdy frame of {0} bytes is too large")]
    TooLarge(usize),
    #[error("spdy version {0} is not supported")]
    Version(u16),
    #[error("malformed spdy {0} frame")]
    Malformed(&'static str),
    #[error("spdy header block does not decompress")]
    Inflate,
}

pub(super) type Headers = Vec<(String, String)>;

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Frame {
    SynStream {
        id: u32,
        flags: u8,
        headers: Headers,
    },
    SynReply {
        id: u32,
        flags: u8,
        headers: Headers,
    },
    Rst {
        id: u32,
        status: u32,
    },
    Settings,
    Ping(u32),
    GoAway {
        last_id: u32,
        status: u32,
    },
    Headers {
        id: u32,
        flags: u8,
        headers: Headers,
    },
    WindowUpdate,
    /// A control frame of a type this side does not know: ignored, as the
    /// protocol asks.
    Unknown,
    Data {
        id: u32,
        flags: u8,
        data: Bytes,
    },
}

/// Reads frames, keeping the connection's header decompression context.
pub(super) struct Decoder {
    inflate: Decompress,
}

impl Decoder {
    pub(super) fn new() -> Decoder {
        Decoder {
            inflate: Decompress::new(true),
        }
    }

    pub(super) async fn read<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
    ) -> Result<Option<Frame>, Error> {
        let mut head = [0u8; 8];
        match r.read_exact(&mut head).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let flags = head[4];
        let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
        if len > MAX_FRAME {
            return Err(Error::TooLarge(len));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        if head[0] & 0x80 == 0 {
            let id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            return Ok(Some(Frame::Data {
                id,
                flags,
                data: Bytes::from(body),
            }));
        }
        let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
        if version != VERSION {
            return Err(Error::Version(version));
        }
        let kind = u16::from_be_bytes([head[2], head[3]]);
        let word = |at: usize, what: &'static str| -> Result<u32, Error> {
            body.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or(Error::Malformed(what))
        };
        let frame = match kind {
            SYN_STREAM => {
                let id = word(0, "SYN_STREAM")? & 0x7fff_ffff;
                if body.len() < 10 {
                    return Err(Error::Malformed("SYN_STREAM"));
                }
                let headers = self.headers(&body[10..])?;
                Frame::SynStream { id, flags, headers }
            }
            SYN_REPLY => {
                let id = word(0, "SYN_REPLY")? & 0x7fff_ffff;
                let headers = self.headers(&body[4..])?;
                Frame::SynReply { id, flags, headers }
            }
            HEADERS => {
                let id = word(0, "HEADERS")? & 0x7fff_ffff;
                let headers = self.headers(&body[4..])?;
                Frame::Headers { id, flags, headers }
            }
            RST_STREAM => Frame::Rst {
                id: word(0, "RST_STREAM")? & 0x7fff_ffff,
                status: word(4, "RST_STREAM")?,
            },
            SETTINGS => Frame::Settings,
            PING => Frame::Ping(word(0, "PING")?),
            GOAWAY => Frame::GoAway {
                last_id: word(0, "GOAWAY")? & 0x7fff_ffff,
                status: word(4, "GOAWAY").unwrap_or(0),
            },
            WINDOW_UPDATE => Frame::WindowUpdate,
            _ => Frame::Unknown,
        };
        Ok(Some(frame))
    }

    fn headers(&mut self, compressed: &[u8]) -> Result<Headers, Error> {
        let mut out = Vec::with_capacity(compressed.len() * 4 + 64);
        let mut input = compressed;
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(out.capacity().max(1024));
            }
            if out.len() > MAX_HEADERS {
                return Err(Error::Inflate);
            }
            let before = self.inflate.total_in();
            match self
                .inflate
                .decompress_vec(input, &mut out, FlushDecompress::Sync)
            {
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    let used = (self.inflate.total_in() - before) as usize;
                    input = &input[used..];
                    self.inflate
                        .set_dictionary(DICTIONARY)
                        .map_err(|_| Error::Inflate)?;
                    continue;
                }
                Err(_) => return Err(Error::Inflate),
            }
            let used = (self.inflate.total_in() - before) as usize;
            input = &input[used..];
            // Done when all input is consumed and the output did not fill up.
            if input.is_empty() && out.capacity() - out.len() >= 256 {
                break;
            }
        }
        parse_block(&out)
    }
}

fn parse_block(block: &[u8]) -> Result<Headers, Error> {
    let mut at = 0usize;
    let mut next = |n: usize| -> Result<&[u8], Error> {
        let s = block
            .get(at..at + n)
            .ok_or(Error::Malformed("header block"))?;
        at += n;
        Ok(s)
    };
    let word = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let count = word(next(4)?);
    let mut headers = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let len = word(next(4)?);
        let name = String::from_utf8_lossy(next(len)?).to_ascii_lowercase();
        let len = word(next(4)?);
        let value = String::from_utf8_lossy(next(len)?).into_owned();
        for v in value.split('\0') {
            headers.push((name.clone(), v.to_string()));
        }
    }
    Ok(headers)
}

/// Writes frames, keeping the connection's header compression context.
pub(super) struct Encoder {
    deflate: Compress,
}

impl Encoder {
    pub(super) fn new() -> Encoder {
        let mut deflate = Compress::new(Compression::default(), true);
        // Priming a fresh zlib stream with a dictionary cannot fail.
        let _ = deflate.set_dictionary(DICTIONARY);
        Encoder { deflate }
    }

    pub(super) fn encode(&mut self, frame: &Frame, out: &mut BytesMut) {
        match frame {
            Frame::Data { id, flags, data } => {
                out.put_u32(id & 0x7fff_ffff);
                out.put_u8(*flags);
                put_len(out, data.len());
                out.put_slice(data);
            }
            Frame::SynStream { id, flags, headers } => {
                let block = self.block(headers);
                control(out, SYN_STREAM, *flags, 10 + block.len());
                out.put_u32(*id);
                out.put_u32(0);
                out.put_u16(0);
                out.put_slice(&block);
            }
            Frame::SynReply { id, flags, headers } => {
                let block = self.block(headers);
                control(out, SYN_REPLY, *flags, 4 + block.len());
                out.put_u32(*id);
                out.put_slice(&block);
            }
            Frame::Headers { id, flags, headers } => {
                let block = self.block(headers);
                control(out, HEADERS, *flags, 4 + block.len());
                out.put_u32(*id);
                out.put_slice(&block);
            }
            Frame::Rst { id, status } => {
                control(out, RST_STREAM, 0, 8);
                out.put_u32(*id);
                out.put_u32(*status);
            }
            Frame::Ping(id) => {
                control(out, PING, 0, 4);
                out.put_u32(*id);
            }
            Frame::GoAway { last_id, status } => {
                control(out, GOAWAY, 0, 8);
                out.put_u32(*last_id);
                out.put_u32(*status);
            }
            Frame::Settings => {
                control(out, SETTINGS, 0, 4);
                out.put_u32(0);
            }
            Frame::WindowUpdate | Frame::Unknown => {}
        }
    }

    fn block(&mut self, headers: &Headers) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        for (name, value) in headers {
            raw.extend_from_slice(&(name.len() as u32).to_be_bytes());
            raw.extend_from_slice(name.to_ascii_lowercase().as_bytes());
            raw.extend_from_slice(&(value.len() as u32).to_be_bytes());
            raw.extend_from_slice(value.as_bytes());
        }
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut input = &raw[..];
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(256);
            }
            let before = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut out, FlushCompress::Sync);
            input = &input[(self.deflate.total_in() - before) as usize..];
            match status {
                Ok(Status::Ok | Status::BufError)
                    if input.is_empty() && out.capacity() - out.len() >= 64 =>
                {
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        out
    }
}

fn control(out: &mut BytesMut, kind: u16, flags: u8, len: usize) {
    out.put_u16(0x8000 | VERSION);
    out.put_u16(kind);
    out.put_u8(flags);
    put_len(out, len);
}

fn put_len(out: &mut BytesMut, len: usize) {
    let b = (len as u32).to_be_bytes();
    out.put_slice(&b[1..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_with_shared_compression_contexts() {
        let mut enc = Encoder::new();
        let mut buf = BytesMut::new();
        let frames = vec![
            Frame::SynStream {
                id: 1,
                flags: 0,
                headers: vec![("streamtype".into(), "error".into())],
            },
            Frame::SynStream {
                id: 3,
                flags: FLAG_FIN,
                headers: vec![
                    ("streamtype".into(), "data".into()),
                    ("port".into(), "8080".into()),
                ],
            },
            Frame::SynReply {
                id: 3,
                flags: 0,
                headers: vec![],
            },
            Frame::Data {
                id: 3,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"hello"),
            },
            Frame::Ping(7),
            Frame::Rst { id: 5, status: 5 },
            Frame::GoAway {
                last_id: 3,
                status: 0,
            },
        ];
        for f in &frames {
            enc.encode(f, &mut buf);
        }
        let mut dec = Decoder::new();
        let mut r = &buf[..];
        let mut got = Vec::new();
        while let Some(f) = dec.read(&mut r).await.unwrap() {
            got.push(f);
        }
        assert_eq!(got, frames);
    }

    #[tokio::test]
    async fn garbage_header_block_is_an_error() {
        let mut buf = BytesMut::new();
        control(&mut buf, SYN_STREAM, 0, 14);
        buf.put_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
        let mut r = &buf[..];
        assert!(Decoder::new().read(&mut r).await.is_err());
    }
}
