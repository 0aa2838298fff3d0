// The HTTP/1.1 response reader behind plain-http probes, fed whole and byte by byte.
#include <gtest/gtest.h>

#include "prober/http1_client.h"
#include "util/strings.h"

namespace nanolet::prober {
namespace {

using State = Http1ResponseReader::State;

// Feeds `in` in pieces of `step` bytes, then EOF if the reader still wants more.
HopResult Read(const std::string& in, size_t step, size_t max_body = 1024) {
  Http1ResponseReader r(max_body);
  State st = State::kHead;
  for (size_t i = 0; i < in.size() && (st == State::kHead || st == State::kBody); i += step)
    st = r.Feed(std::string_view(in).substr(i, step));
  if (st == State::kHead || st == State::kBody) r.Eof();
  return r.TakeResult();
}

TEST(Http1ReaderTest, ContentLength_Chunked_UntilClose_SameResultInAnyPieces) {
  struct Case {
    std::string name, in;
    int status;
    std::string body;
  } cases[] = {
      {"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", 200, "hello"},
      {"chunked",
       "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n "
       "world\r\n0\r\nTrailer: 1\r\n\r\n",
       201, "hello world"},
      {"until-close", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it", 200, "all of it"},
      {"bare-lf", "HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno", 404, "no"},
      {"no-body-304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 304, ""},
      {"interim-100-skipped",
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: "
       "0\r\n\r\n",
       302, ""},
  };
  for (const auto& c : cases) {
    for (size_t step : {size_t{1}, size_t{3}, c.in.size()}) {
      HopResult r = Read(c.in, step);
      EXPECT_EQ(r.error, "") << c.name << " step " << step;
      EXPECT_EQ(r.status, c.status) << c.name << " step " << step;
      EXPECT_EQ(r.body, c.body) << c.name << " step " << step;
    }
  }
  EXPECT_EQ(Read(cases[5].in, 1).location, "/x");
}

TEST(Http1ReaderTest, Garbage_IsAnErrorInGoWording) {
  struct Case {
    std::string in, error;
  } cases[] = {
      {"garbage\r\n\r\n", "malformed HTTP response \"garbage\""},
      {"HTTP/1.1 2000 OK\r\n\r\n", "malformed HTTP status code \"2000\""},
      {"HTTP/1.1 abc OK\r\n\r\n", "malformed HTTP status code \"abc\""},
      {"HTTQ/1.1 200 OK\r\n\r\n", "malformed HTTP version \"HTTQ/1.1\""},
      {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed MIME header line: no colon here"},
      {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "bad Content-Length \"x\""},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       "multiple Content-Length"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported transfer encoding"},
      {"", "EOF"},
      {"HTTP/1.1 200 O", "unexpected EOF"},
  };
  for (const auto& c : cases) {
    HopResult r = Read(c.in, 2);
    EXPECT_NE(r.error.find(c.error), std::string::npos) << Quote(c.in) << " -> " << r.error;
    EXPECT_FALSE(r.body_error) << c.in;
  }
}

TEST(Http1ReaderTest, HeadLimit_BodyLimit_AndShortBodies) {
  std::string big = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n";
  HopResult r = Read(big, 4096);
  EXPECT_NE(r.error.find("server response headers exceeded 65536 bytes"), std::string::npos)
      << r.error;
  // A body longer than the limit is truncated, not an error (as upstream ReadAtMost).
  r = Read("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b'), 700, 1000);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.body, std::string(1000, 'b'));
  // A body that ends before its length is a read error (upstream: the probe errored).
  r = Read("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", 4);
  EXPECT_TRUE(r.body_error);
  EXPECT_EQ(r.error, "unexpected EOF");
  EXPECT_EQ(r.status, 200);
  r = Read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 4);
  EXPECT_TRUE(r.body_error);
  EXPECT_EQ(r.error, "malformed chunked encoding");
}

}  // namespace
}  // namespace nanolet::prober
