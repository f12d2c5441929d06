// The daemon's log (service/log.h): lines reach the file whole and in order, and a reader that
// stops reading stalls no caller — lines past the buffer are dropped, counted, and reported in
// a line of their own once the reader catches up (issue #29: a call's line is written on the
// thread that ends the call, and one gRPC thread answers most calls).

#include "service/log.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace lovebank::service {
namespace {

std::string ReadAll(const std::string& path) {
  std::string text;
  if (std::FILE* in = std::fopen(path.c_str(), "r")) {
    char buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof(buffer), in)) > 0;)
      text.append(buffer, n);
    std::fclose(in);
  }
  return text;
}

TEST(Logger, LinesReachTheFileWholeInOrderAndFlushWaitsForThem) {
  testing::TempDir dir;
  std::FILE* out = std::fopen(dir.Sub("log").c_str(), "a");
  ASSERT_NE(out, nullptr);
  {
    Logger logger(LogLevel::kInfo, out);
    logger.Log(LogLevel::kDebug, "below the level");
    for (int i = 0; i < 1000; ++i)
      logger.LogFields(LogLevel::kInfo, "rpc=Earn n=" + std::to_string(i));
    logger.Log(LogLevel::kWarn, "余额 \"quoted\"\nsecond line");
    logger.Flush();
    const std::string text = ReadAll(dir.Sub("log"));
    EXPECT_EQ(text.find("below the level"), std::string::npos);
    std::size_t at = 0;
    for (int i = 0; i < 1000; ++i) {
      const std::string field = " level=info rpc=Earn n=" + std::to_string(i) + "\n";
      const std::size_t found = text.find(field, at);
      ASSERT_NE(found, std::string::npos) << i;
      at = found + field.size();
    }
    EXPECT_NE(text.find("level=warn msg=\"余额 \\\"quoted\\\"\\nsecond line\"\n", at),
              std::string::npos)
        << text.substr(at);
    EXPECT_EQ(logger.dropped(), 0u);
  }
  std::fclose(out);
}

// Lines logged after the last Flush are written when the Logger goes, whatever its level.
TEST(Logger, ItsDestructorWritesWhatIsWaiting) {
  testing::TempDir dir;
  std::FILE* out = std::fopen(dir.Sub("log").c_str(), "a");
  ASSERT_NE(out, nullptr);
  {
    Logger logger(LogLevel::kDebug, out);
    for (int i = 0; i < 100; ++i) logger.LogFields(LogLevel::kDebug, "n=" + std::to_string(i));
    logger.Log(LogLevel::kError, "the last line");
  }
  std::fclose(out);
  const std::string text = ReadAll(dir.Sub("log"));
  EXPECT_NE(text.find(" level=debug n=99\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" level=error msg=\"the last line\"\n"), std::string::npos) << text;
}

// A pipe that nobody reads fills (64 KB), then the log's thread blocks in its write: the callers
// still return, past kLogBufferMax bytes their lines are dropped and counted, and once the
// reader drains the pipe the log says how many were dropped, then goes on.
TEST(Logger, AReaderThatStopsReadingStallsNoCaller) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::FILE* out = ::fdopen(fds[1], "w");
  ASSERT_NE(out, nullptr);
  std::string read;
  std::thread reader;
  std::uint64_t dropped = 0;
  {
    Logger logger(LogLevel::kInfo, out);
    const std::string fields = "rpc=Transfer memo=" + std::string(1000, 'x');
    const int lines = 2 * static_cast<int>(kLogBufferMax / fields.size());
    for (int i = 0; i < lines; ++i)
      logger.LogFields(LogLevel::kInfo, fields);  // returns: no reader
    dropped = logger.dropped();
    EXPECT_GT(dropped, 0u);
    EXPECT_LT(dropped, static_cast<std::uint64_t>(lines));
    reader = std::thread([&] {
      char buffer[65536];
      for (ssize_t n; (n = ::read(fds[0], buffer, sizeof(buffer))) > 0;) read.append(buffer, n);
    });
    logger.LogFields(LogLevel::kInfo, "rpc=WhoAmI after=1");
    logger.Flush();
  }
  std::fclose(out);  // the reader's end of file
  reader.join();
  ::close(fds[0]);
  const std::size_t note = read.find(" log lines dropped: the log's reader fell behind\"\n");
  ASSERT_NE(note, std::string::npos);
  const std::size_t count = read.rfind("msg=\"", note) + 5;
  EXPECT_EQ(read.substr(count, note - count), std::to_string(dropped)) << "the note counts them";
  EXPECT_EQ(read.rfind("level=warn", note), read.rfind("time=", note) + 33);  // a line of its own
  EXPECT_NE(read.find("rpc=WhoAmI after=1\n", note), std::string::npos);
  // Every line whole.
  std::size_t lines_read = 0;
  for (std::size_t at = 0; at < read.size(); ++lines_read) {
    const std::size_t end = read.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(read.compare(at, 5, "time="), 0);
    at = end + 1;
  }
  EXPECT_GT(lines_read, 2u);
}

}  // namespace
}  // namespace lovebank::service
