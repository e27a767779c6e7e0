#pragma once
// Key material made at test time, so no private key lives in the repository.

#include <string>

namespace forgehand::testing {

struct RsaKeyPair {
  std::string private_pem;
  std::string public_pem;
};

// A fresh 2048-bit RSA key pair in PEM (PKCS#8 private key, SubjectPublicKeyInfo public key).
RsaKeyPair generate_rsa_key();

}  // namespace forgehand::testing
