#include "util/crypto.h"

#include <doctest/doctest.h>

#include "util/compression.h"
#include "util/text.h"

using namespace forgehand;

TEST_CASE("hmac_sha256 matches RFC 4231 test case 2") {
  std::string mac = crypto::hmac_sha256("Jefe", "what do ya want for nothing?");
  CHECK(crypto::hex_encode(mac) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("sha256 of the empty string") {
  CHECK(crypto::hex_encode(crypto::sha256("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("hex decoding accepts both cases and rejects junk") {
  CHECK(crypto::hex_decode("00ffAB") == std::string("\x00\xff\xab", 3));
  CHECK_FALSE(crypto::hex_decode("abc").has_value());
  CHECK_FALSE(crypto::hex_decode("zz").has_value());
  CHECK(crypto::hex_decode("")->empty());
}

TEST_CASE("base64 round-trips and rejects what is not base64") {
  for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    CHECK(crypto::base64_decode(crypto::base64_encode(text)) == text);
  }
  CHECK(crypto::base64_encode("foobar") == "Zm9vYmFy");
  CHECK_FALSE(crypto::base64_decode("Zm9v!mFy").has_value());
  CHECK_FALSE(crypto::base64_decode("Zm9").has_value());
}

TEST_CASE("constant_time_equals compares content, whatever the lengths") {
  CHECK(crypto::constant_time_equals("secret", "secret"));
  CHECK_FALSE(crypto::constant_time_equals("secret", "secreT"));
  CHECK_FALSE(crypto::constant_time_equals("secret", "secret2"));
  CHECK_FALSE(crypto::constant_time_equals("", "x"));
}

TEST_CASE("random_bytes gives distinct values of the asked size") {
  CHECK(crypto::random_bytes(32).size() == 32);
  CHECK(crypto::random_bytes(32) != crypto::random_bytes(32));
}

TEST_CASE("zstd round-trips binary data and refuses corrupt or oversized frames") {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += static_cast<char>(i % 251);
  std::string frame = compression::zstd_compress(data);
  CHECK(frame.size() < data.size());
  CHECK(compression::zstd_decompress(frame, data.size()) == data);

  auto too_large = compression::zstd_decompress(frame, data.size() - 1);
  REQUIRE_FALSE(too_large.has_value());
  CHECK(too_large.error().code == ErrorCode::payload_too_large);

  std::string corrupt = frame;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  corrupt[corrupt.size() / 2 + 1] ^= 0x5a;
  auto broken = compression::zstd_decompress(corrupt, data.size());
  CHECK((!broken.has_value() || *broken != data));
  CHECK_FALSE(compression::zstd_decompress("not zstd", 100).has_value());
}

TEST_CASE("closest_match suggests near keys only") {
  std::string_view keys[] = {"webhook_secret", "signing_token", "api_url"};
  CHECK(text::closest_match("webhok_secret", keys) == "webhook_secret");
  CHECK(text::closest_match("api_ur", keys) == "api_url");
  CHECK_FALSE(text::closest_match("completely_else", keys).has_value());
  CHECK(text::edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("join puts the separator between items only") {
  CHECK(text::join(std::vector<std::string>{}, ", ").empty());
  CHECK(text::join(std::vector<std::string>{"a"}, ", ") == "a");
  CHECK(text::join(std::vector<std::string>{"a", "", "c"}, " → ") == "a →  → c");
}
