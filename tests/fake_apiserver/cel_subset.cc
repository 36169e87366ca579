#include "tests/fake_apiserver/cel_subset.h"

#include <algorithm>
#include <cstdint>
#include <expected>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

namespace keyward::testing::fake {

using nlohmann::json;

namespace {

constexpr std::int64_t kIntMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kIntMin = std::numeric_limits<std::int64_t>::min();
constexpr int kMaxNesting = 200;     // parser recursion: parentheses, '!', '-', '?:'
constexpr int kMaxNodeDepth = 1000;  // syntax tree depth, which bounds evaluation recursion

std::string outside_subset(const std::string& what) {
  return what + " is outside the supported subset";
}

// A character for a message: quoted when printable ASCII, else as a byte (the message may end up
// in JSON, which needs valid UTF-8).
std::string printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto byte = static_cast<unsigned char>(c);
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xF];
}

// CEL's reserved words cannot be identifiers or field names (Kubernetes escapes such property
// names, see unescape_field).
bool is_reserved(std::string_view word) {
  static constexpr std::string_view kReserved[] = {
      "true",     "false",   "null",      "in",       "as",  "break",  "const",
      "continue", "else",    "for",       "function", "if",  "import", "let",
      "loop",     "package", "namespace", "return",   "var", "void",   "while"};
  return std::find(std::begin(kReserved), std::end(kReserved), word) != std::end(kReserved);
}

// Kubernetes exposes a property whose name is not a CEL identifier under an escaped name:
// `__dash__` for '-', `__dot__` for '.', `__slash__` for '/', `__underscores__` for "__" and
// `__<word>__` for a reserved word. This returns the property name a field name stands for.
std::string unescape_field(const std::string& name) {
  if (name.size() > 4 && name.starts_with("__") && name.ends_with("__") &&
      is_reserved(std::string_view(name).substr(2, name.size() - 4))) {
    return name.substr(2, name.size() - 4);
  }
  static constexpr std::pair<std::string_view, std::string_view> kEscapes[] = {
      {"__underscores__", "__"}, {"__dot__", "."}, {"__dash__", "-"}, {"__slash__", "/"}};
  std::string out;
  std::size_t i = 0;
  while (i < name.size()) {
    bool replaced = false;
    for (const auto& [escape, plain] : kEscapes) {
      if (std::string_view(name).substr(i).starts_with(escape)) {
        out += plain;
        i += escape.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += name[i++];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lexer: the rule as a list of tokens, or why it is outside the subset.

struct Token {
  enum class Kind { Ident, Int, String, Punct, End };
  Kind kind = Kind::End;
  std::string text;             // Ident: the name; String: the decoded value; Punct: the operator
  std::uint64_t magnitude = 0;  // Int: the literal without its sign (may be 2^63, for -2^63)
  std::size_t column = 0;       // 1-based, for messages
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

class Lexer {
 public:
  explicit Lexer(const std::string& src) : src_(src) {}

  std::expected<std::vector<Token>, std::string> run() {
    std::vector<Token> tokens;
    for (;;) {
      skip_space_and_comments();
      if (pos_ >= src_.size()) break;
      auto token = next();
      if (!token) return std::unexpected(token.error());
      tokens.push_back(std::move(*token));
    }
    Token end;
    end.column = src_.size() + 1;
    tokens.push_back(end);
    return tokens;
  }

 private:
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }

  std::unexpected<std::string> syntax(const std::string& what) const {
    return std::unexpected("syntax error at column " + std::to_string(pos_ + 1) + ": " + what);
  }

  void skip_space_and_comments() {
    while (pos_ < src_.size()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '/' && peek(1) == '/') {
        while (pos_ < src_.size() && peek() != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  std::expected<Token, std::string> next() {
    std::size_t column = pos_ + 1;
    auto token = is_digit(peek())                  ? number()
                 : peek() == '\'' || peek() == '"' ? string_literal()
                 : is_ident_start(peek())          ? identifier()
                                                   : punctuation();
    if (token) token->column = column;
    return token;
  }

  std::expected<Token, std::string> number() {
    if (peek() == '0' && (peek(1) == 'x' || peek(1) == 'X'))
      return std::unexpected(outside_subset("a hex integer literal"));
    Token token;
    token.kind = Token::Kind::Int;
    bool overflow = false;
    while (is_digit(peek())) {
      auto digit = static_cast<std::uint64_t>(peek() - '0');
      overflow =
          overflow || token.magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10;
      token.magnitude = token.magnitude * 10 + digit;
      ++pos_;
    }
    if ((peek() == '.' && is_digit(peek(1))) || peek() == 'e' || peek() == 'E')
      return std::unexpected(outside_subset("a double literal"));
    if (peek() == 'u' || peek() == 'U')
      return std::unexpected(outside_subset("an unsigned integer literal"));
    if (is_ident_char(peek())) return syntax("malformed number");
    // 2^63 is let through for the parser: it is valid only as the operand of a unary minus.
    if (overflow || token.magnitude > static_cast<std::uint64_t>(kIntMax) + 1)
      return syntax("integer literal out of range");
    return token;
  }

  std::expected<Token, std::string> string_literal() {
    char quote = peek();
    if (peek(1) == quote && peek(2) == quote)
      return std::unexpected(outside_subset("a triple-quoted string"));
    ++pos_;
    Token token;
    token.kind = Token::Kind::String;
    for (;;) {
      if (pos_ >= src_.size()) return syntax("unterminated string");
      char c = src_[pos_++];
      if (c == quote) return token;
      if (c == '\n' || c == '\r') return syntax("newline in a string");
      if (c != '\\') {
        token.text += c;
        continue;
      }
      if (pos_ >= src_.size()) return syntax("unterminated string");
      auto escaped = escape(peek());
      if (!escaped) return std::unexpected(escaped.error());
      token.text += *escaped;
      ++pos_;
    }
  }

  // The character a single-character escape stands for. Octal, \x, \u and \U escapes are
  // outside the subset.
  static std::expected<char, std::string> escape(char c) {
    switch (c) {
      case '\\':
      case '\'':
      case '"':
      case '`':
      case '?':
        return c;
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'a':
        return '\a';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      default: {
        bool ascii = c >= 0x20 && c < 0x7f;
        return std::unexpected(outside_subset(ascii ? std::string("the escape sequence \\") + c
                                                    : "an escape before " + printable(c)));
      }
    }
  }

  std::expected<Token, std::string> identifier() {
    Token token;
    token.kind = Token::Kind::Ident;
    while (is_ident_char(peek())) token.text += src_[pos_++];
    // r'...' and b'...' (and rb, br in either case) are raw strings and bytes.
    bool prefix =
        token.text.size() <= 2 && token.text.find_first_not_of("rRbB") == std::string::npos;
    if (prefix && (peek() == '\'' || peek() == '"')) {
      bool bytes = token.text.find_first_of("bB") != std::string::npos;
      return std::unexpected(outside_subset(bytes ? "a bytes literal" : "a raw string"));
    }
    if (token.text == "in") token.kind = Token::Kind::Punct;  // an operator, like "=="
    return token;
  }

  std::expected<Token, std::string> punctuation() {
    static constexpr std::string_view kTwo[] = {"<=", ">=", "==", "!=", "&&", "||", ".?"};
    static constexpr std::string_view kOne = "()[]{}.,?:!-+*/%<>";
    Token token;
    token.kind = Token::Kind::Punct;
    std::string_view rest = std::string_view(src_).substr(pos_);
    for (std::string_view op : kTwo) {
      if (rest.starts_with(op)) {
        token.text = op;
        pos_ += 2;
        return token;
      }
    }
    char c = peek();
    if (c == '.' && is_digit(peek(1))) return std::unexpected(outside_subset("a double literal"));
    if (c == '`') return std::unexpected(outside_subset("a backtick-quoted field name"));
    if (kOne.find(c) == std::string_view::npos)
      return syntax("unexpected character " + printable(c));
    token.text = std::string(1, c);
    ++pos_;
    return token;
  }

  const std::string& src_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Syntax tree and parser. Precedence, loosest first, as in CEL's grammar:
//   c ? a : b  (right-associative), ||, &&, relations (< <= > >= == != in, one level),
//   + -, * / %, unary ! and -, member access (.f, .size(), [i]), primary.

enum class Op {
  Literal,
  Self,
  List,
  Select,  // args[0].field
  Has,     // has(args[0].field)
  Index,   // args[0][args[1]]
  Size,
  Not,
  Neg,
  Mul,
  Div,
  Mod,
  Add,
  Sub,
  Less,
  LessEq,
  Greater,
  GreaterEq,
  Eq,
  NotEq,
  In,
  And,
  Or,
  Cond,
};

struct Node {
  Op op = Op::Literal;
  json literal;       // Literal
  std::string field;  // Select, Has: the field name as written in the rule
  std::vector<std::unique_ptr<Node>> args;
  int depth = 1;
};
using NodePtr = std::unique_ptr<Node>;

struct BinaryOp {
  std::string_view token;
  Op op;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  // The whole rule's tree, or nullptr with error() saying why.
  NodePtr parse() {
    NodePtr root = expr();
    if (root && peek().kind != Token::Kind::End) return syntax("unexpected " + describe(peek()));
    return root;
  }

  const std::string& error() const { return error_; }

 private:
  // Counts the parser's recursion, so a deeply nested rule is refused instead of overflowing
  // the stack.
  class Nesting {
   public:
    explicit Nesting(int& depth) : depth_(depth) { ++depth_; }
    ~Nesting() { --depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    int& depth_;
  };

  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  bool is_punct(std::string_view text, std::size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::Punct && peek(ahead).text == text;
  }
  bool accept(std::string_view text) {
    if (!is_punct(text)) return false;
    ++pos_;
    return true;
  }

  static std::string describe(const Token& token) {
    switch (token.kind) {
      case Token::Kind::Int:
        return "integer literal";
      case Token::Kind::String:
        return "string literal";
      case Token::Kind::End:
        return "end of rule";
      default:
        return "'" + token.text + "'";
    }
  }

  NodePtr fail(const std::string& why) {
    if (error_.empty()) error_ = why;
    return nullptr;
  }
  NodePtr unsupported(const std::string& what) { return fail(outside_subset(what)); }
  NodePtr syntax(const std::string& what) {
    return fail("syntax error at column " + std::to_string(peek().column) + ": " + what);
  }

  static NodePtr leaf(Op op, json literal = nullptr) {
    auto node = std::make_unique<Node>();
    node->op = op;
    node->literal = std::move(literal);
    return node;
  }

  // Appends `child` to `parent`; false when the tree gets too deep to evaluate safely.
  static bool adopt(Node& parent, NodePtr child) {
    parent.depth = std::max(parent.depth, child->depth + 1);
    parent.args.push_back(std::move(child));
    return parent.depth <= kMaxNodeDepth;
  }

  NodePtr node(Op op, NodePtr a, NodePtr b = nullptr, NodePtr c = nullptr) {
    NodePtr out = leaf(op);
    for (NodePtr* arg : {&a, &b, &c}) {
      if (*arg && !adopt(*out, std::move(*arg))) return fail("the rule nests too deeply");
    }
    return out;
  }

  NodePtr expr() {
    Nesting nesting(depth_);
    if (depth_ > kMaxNesting) return fail("the rule nests too deeply");
    NodePtr cond = binary_level(&Parser::conditional_and, {{"||", Op::Or}});
    if (!cond || !accept("?")) return cond;
    NodePtr yes = binary_level(&Parser::conditional_and, {{"||", Op::Or}});
    if (!yes) return nullptr;
    if (!accept(":")) return syntax("expected ':'");
    NodePtr no = expr();
    if (!no) return nullptr;
    return node(Op::Cond, std::move(cond), std::move(yes), std::move(no));
  }

  NodePtr conditional_and() { return binary_level(&Parser::relation, {{"&&", Op::And}}); }

  NodePtr relation() {
    return binary_level(&Parser::calc, {{"<=", Op::LessEq},
                                        {"<", Op::Less},
                                        {">=", Op::GreaterEq},
                                        {">", Op::Greater},
                                        {"==", Op::Eq},
                                        {"!=", Op::NotEq},
                                        {"in", Op::In}});
  }

  NodePtr calc() { return binary_level(&Parser::multiplicative, {{"+", Op::Add}, {"-", Op::Sub}}); }

  NodePtr multiplicative() {
    return binary_level(&Parser::unary, {{"*", Op::Mul}, {"/", Op::Div}, {"%", Op::Mod}});
  }

  // operand (op operand)*, left-associative.
  NodePtr binary_level(NodePtr (Parser::*operand)(), std::initializer_list<BinaryOp> ops) {
    NodePtr lhs = (this->*operand)();
    while (lhs) {
      auto it = std::find_if(ops.begin(), ops.end(),
                             [this](const BinaryOp& op) { return is_punct(op.token); });
      if (it == ops.end()) break;
      ++pos_;
      NodePtr rhs = (this->*operand)();
      if (!rhs) return nullptr;
      lhs = node(it->op, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  NodePtr unary() {
    Nesting nesting(depth_);
    if (depth_ > kMaxNesting) return fail("the rule nests too deeply");
    if (accept("!")) {
      NodePtr operand = unary();
      return operand ? node(Op::Not, std::move(operand)) : nullptr;
    }
    if (!accept("-")) return member();
    // As in CEL, a minus directly before an integer literal makes a negative literal, which is
    // how -9223372036854775808 is written.
    bool literal = peek().kind == Token::Kind::Int && !is_punct(".", 1) && !is_punct("[", 1) &&
                   !is_punct(".?", 1);
    if (literal) {
      std::uint64_t magnitude = tokens_[pos_++].magnitude;
      return leaf(Op::Literal, magnitude == static_cast<std::uint64_t>(kIntMax) + 1
                                   ? kIntMin
                                   : -static_cast<std::int64_t>(magnitude));
    }
    NodePtr operand = unary();
    return operand ? node(Op::Neg, std::move(operand)) : nullptr;
  }

  NodePtr member() {
    NodePtr operand = primary();
    while (operand) {
      if (is_punct(".?")) return unsupported("optional field selection '.?'");
      if (accept(".")) {
        operand = selection(std::move(operand));
      } else if (accept("[")) {
        if (is_punct("?")) return unsupported("optional index '[?'");
        NodePtr key = expr();
        if (!key) return nullptr;
        if (!accept("]")) return syntax("expected ']'");
        operand = node(Op::Index, std::move(operand), std::move(key));
      } else {
        break;
      }
    }
    return operand;
  }

  // `.name` or `.name(...)` after `operand`; only size() is a supported method.
  NodePtr selection(NodePtr operand) {
    if (peek().kind != Token::Kind::Ident) return syntax("expected a field name after '.'");
    std::string name = tokens_[pos_++].text;
    if (accept("(")) {
      if (name != "size") return unsupported("function '" + name + "'");
      if (!accept(")")) return syntax("size() takes no arguments when called as a method");
      return node(Op::Size, std::move(operand));
    }
    if (is_reserved(name)) return syntax("'" + name + "' is a reserved word");
    NodePtr out = node(Op::Select, std::move(operand));
    if (out) out->field = name;
    return out;
  }

  NodePtr primary() {
    const Token& token = peek();
    switch (token.kind) {
      case Token::Kind::Int:
        ++pos_;
        if (token.magnitude > static_cast<std::uint64_t>(kIntMax))
          return syntax("integer literal out of range");
        return leaf(Op::Literal, static_cast<std::int64_t>(token.magnitude));
      case Token::Kind::String:
        ++pos_;
        return leaf(Op::Literal, token.text);
      case Token::Kind::Ident:
        ++pos_;
        return identifier(token.text);
      case Token::Kind::End:
        return syntax("unexpected end of rule");
      case Token::Kind::Punct:
        break;
    }
    if (accept("(")) {
      NodePtr inner = expr();
      if (!inner) return nullptr;
      if (!accept(")")) return syntax("expected ')'");
      return inner;
    }
    if (accept("[")) return list_literal();
    if (is_punct("{")) return unsupported("a map literal");
    if (is_punct(".")) return unsupported("a leading-dot identifier");
    return syntax("unexpected " + describe(token));
  }

  NodePtr identifier(const std::string& name) {
    if (accept("(")) return call(name);
    if (name == "self") return leaf(Op::Self);
    if (name == "true") return leaf(Op::Literal, true);
    if (name == "false") return leaf(Op::Literal, false);
    if (name == "null") return leaf(Op::Literal, nullptr);
    if (name == "oldSelf") return unsupported("'oldSelf' (transition rules)");
    if (is_reserved(name)) return syntax("'" + name + "' is a reserved word");
    return unsupported("identifier '" + name + "'");
  }

  // A global call after its '('. The function is checked before its arguments are parsed, so
  // `self.all(x, x > 0)`-style arguments do not produce a less helpful message first.
  NodePtr call(const std::string& name) {
    if (name != "has" && name != "size") return unsupported("function '" + name + "'");
    NodePtr arg = expr();
    if (!arg) return nullptr;
    if (!accept(")")) return syntax(name + "() takes one argument");
    if (name == "size") return node(Op::Size, std::move(arg));
    // has() is a macro, not a function: its argument must be a field selection, whose operand
    // is evaluated and whose field is tested.
    if (arg->op != Op::Select) return syntax("has() takes a field selection, as in has(self.f)");
    arg->op = Op::Has;
    return arg;
  }

  // The elements of `[a, b, ...]` after its '['; CEL allows a trailing comma.
  NodePtr list_literal() {
    NodePtr list = leaf(Op::List);
    while (!accept("]")) {
      NodePtr element = expr();
      if (!element) return nullptr;
      if (!adopt(*list, std::move(element))) return fail("the rule nests too deeply");
      if (accept(",")) continue;
      if (!accept("]")) return syntax("expected ']'");
      break;
    }
    return list;
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
};

// The rule's tree, or why it is outside the subset.
std::expected<NodePtr, std::string> parse_rule(const std::string& rule) {
  auto tokens = Lexer(rule).run();
  if (!tokens) return std::unexpected(tokens.error());
  Parser parser(std::move(*tokens));
  NodePtr root = parser.parse();
  if (!root) return std::unexpected(parser.error());
  return root;
}

// ---------------------------------------------------------------------------------------------
// Evaluation. Values are JSON values: integers are CEL ints (int64), strings, bools, null,
// arrays are lists and objects are maps.

struct Failure {
  bool unsupported = false;  // an overload this subset does not implement (doubles, uints)
  std::string message;
};
using Value = std::expected<json, Failure>;

constexpr std::string_view kNoSuchOverload = "no such overload";

std::unexpected<Failure> runtime_error(std::string_view message) {
  return std::unexpected(Failure{false, std::string(message)});
}

std::optional<std::int64_t> as_int(const json& v) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(kIntMax)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

// An operator applied to types it has no overload for. CEL does have overloads for doubles and
// uints, which this subset does not implement: those are Unsupported, not "no such overload".
std::unexpected<Failure> no_overload(const json& a, const json& b) {
  for (const json* v : {&a, &b}) {
    if (v->is_number_float())
      return std::unexpected(Failure{true, outside_subset("a double value")});
    if (v->is_number_unsigned() && !as_int(*v))
      return std::unexpected(
          Failure{true, outside_subset("an unsigned integer value above 2^63-1")});
  }
  return runtime_error(kNoSuchOverload);
}

bool is_bool(const Value& v, bool expected) {
  return v && v->is_boolean() && v->get<bool>() == expected;
}

// CEL's size() of a string counts code points, not bytes.
std::int64_t utf8_length(const std::string& s) {
  return std::count_if(s.begin(), s.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// The member `name` of an object: the property itself, or the property it is the Kubernetes
// escape of (a property named "a__dash__b" literally is preferred, which is more lenient than
// the real server). nullptr when absent.
const json* find_field(const json& object, const std::string& name) {
  if (auto it = object.find(name); it != object.end()) return &*it;
  std::string plain = unescape_field(name);
  if (plain == name) return nullptr;
  auto it = object.find(plain);
  return it == object.end() ? nullptr : &*it;
}

Value checked_arithmetic(Op op, std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  bool overflow = false;
  switch (op) {
    case Op::Add:
      overflow = __builtin_add_overflow(a, b, &out);
      break;
    case Op::Sub:
      overflow = __builtin_sub_overflow(a, b, &out);
      break;
    case Op::Mul:
      overflow = __builtin_mul_overflow(a, b, &out);
      break;
    case Op::Div:
    case Op::Mod:
      if (b == 0) return runtime_error(op == Op::Div ? "division by zero" : "modulus by zero");
      // INT64_MIN / -1 does not fit, and INT64_MIN % -1 is undefined in C++; CEL reports both
      // as overflow. Otherwise C++ and CEL (Go) both truncate toward zero.
      overflow = a == kIntMin && b == -1;
      if (!overflow) out = op == Op::Div ? a / b : a % b;
      break;
    default:
      return runtime_error(kNoSuchOverload);
  }
  if (overflow) return runtime_error("integer overflow");
  return out;
}

// '+' on ints, strings and lists.
Value add(const json& a, const json& b) {
  auto x = as_int(a);
  auto y = as_int(b);
  if (x && y) return checked_arithmetic(Op::Add, *x, *y);
  if (a.is_string() && b.is_string())
    return a.get_ref<const std::string&>() + b.get_ref<const std::string&>();
  if (a.is_array() && b.is_array()) {
    json out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  return no_overload(a, b);
}

// < <= > >= on ints, strings (by code point, which is byte order for UTF-8) and bools.
Value compare(Op op, const json& a, const json& b) {
  int order = 0;
  auto x = as_int(a);
  auto y = as_int(b);
  if (x && y) {
    order = *x < *y ? -1 : (*x > *y ? 1 : 0);
  } else if (a.is_string() && b.is_string()) {
    order = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
  } else if (a.is_boolean() && b.is_boolean()) {
    order = static_cast<int>(a.get<bool>()) - static_cast<int>(b.get<bool>());
  } else {
    return no_overload(a, b);
  }
  switch (op) {
    case Op::Less:
      return order < 0;
    case Op::LessEq:
      return order <= 0;
    case Op::Greater:
      return order > 0;
    default:
      return order >= 0;
  }
}

// `value in container`: a list element equal to value, or a map key.
Value contains(const json& value, const json& container) {
  if (container.is_array())
    return std::find(container.begin(), container.end(), value) != container.end();
  if (container.is_object())
    return value.is_string() && container.contains(value.get_ref<const std::string&>());
  return runtime_error(kNoSuchOverload);
}

Value strict_binary(Op op, const json& a, const json& b) {
  switch (op) {
    // CEL's heterogeneous equality, which is JSON equality here: values of different types
    // are unequal (not an error), numbers compare by value, lists and maps element-wise.
    case Op::Eq:
      return a == b;
    case Op::NotEq:
      return a != b;
    case Op::In:
      return contains(a, b);
    case Op::Add:
      return add(a, b);
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Mod: {
      auto x = as_int(a);
      auto y = as_int(b);
      if (!x || !y) return no_overload(a, b);
      return checked_arithmetic(op, *x, *y);
    }
    default:
      return compare(op, a, b);
  }
}

class Evaluator {
 public:
  explicit Evaluator(const json& self) : self_(self) {}

  Value eval(const Node& n) const {
    switch (n.op) {
      case Op::Literal:
        return n.literal;
      case Op::Self:
        return self_;
      case Op::List:
        return list(n);
      case Op::Select:
      case Op::Has:
        return field(n);
      case Op::Index:
        return index(n);
      case Op::Size:
        return size(n);
      case Op::Not:
      case Op::Neg:
        return unary(n);
      case Op::And:
      case Op::Or:
        return logical(n);
      case Op::Cond:
        return conditional(n);
      default:
        return binary(n);
    }
  }

 private:
  Value list(const Node& n) const {
    json out = json::array();
    for (const auto& element : n.args) {
      Value v = eval(*element);
      if (!v) return v;
      out.push_back(std::move(*v));
    }
    return out;
  }

  // a.f and has(a.f). Absent f is "no such key" for a.f and false for has(); a itself is
  // evaluated either way, so has(self.a.b) fails when a is absent, as in CEL.
  Value field(const Node& n) const {
    Value operand = eval(*n.args[0]);
    if (!operand) return operand;
    if (!operand->is_object()) return runtime_error(kNoSuchOverload);
    const json* found = find_field(*operand, n.field);
    if (n.op == Op::Has) return found != nullptr;
    if (!found) return runtime_error("no such key: " + n.field);
    return *found;
  }

  Value index(const Node& n) const {
    Value container = eval(*n.args[0]);
    if (!container) return container;
    Value key = eval(*n.args[1]);
    if (!key) return key;
    if (container->is_object()) {
      // JSON object keys are strings, so any other key is simply absent.
      if (!key->is_string()) {
        return runtime_error("no such key: " +
                             key->dump(-1, ' ', false, json::error_handler_t::replace));
      }
      const std::string& name = key->get_ref<const std::string&>();
      auto it = container->find(name);
      if (it == container->end()) return runtime_error("no such key: " + name);
      return *it;
    }
    if (!container->is_array()) return runtime_error(kNoSuchOverload);
    auto i = as_int(*key);
    if (!i) return no_overload(*key, *key);
    if (*i < 0 || static_cast<std::uint64_t>(*i) >= container->size())
      return runtime_error("index out of bounds: " + std::to_string(*i));
    return (*container)[static_cast<std::size_t>(*i)];
  }

  Value size(const Node& n) const {
    Value v = eval(*n.args[0]);
    if (!v) return v;
    if (v->is_string()) return utf8_length(v->get_ref<const std::string&>());
    if (v->is_array() || v->is_object()) return static_cast<std::int64_t>(v->size());
    return no_overload(*v, *v);
  }

  Value unary(const Node& n) const {
    Value v = eval(*n.args[0]);
    if (!v) return v;
    if (n.op == Op::Not) {
      if (!v->is_boolean()) return no_overload(*v, *v);
      return !v->get<bool>();
    }
    auto i = as_int(*v);
    if (!i) return no_overload(*v, *v);
    if (*i == kIntMin) return runtime_error("integer overflow");
    return -*i;
  }

  // CEL's && and || are commutative: the left side is evaluated first and short-circuits, but
  // an error (or non-bool) on either side is absorbed when the other side alone decides the
  // result (false for &&, true for ||). Otherwise the first error in evaluation order wins.
  Value logical(const Node& n) const {
    bool decisive = n.op == Op::Or;
    Value lhs = eval(*n.args[0]);
    if (is_bool(lhs, decisive)) return decisive;
    Value rhs = eval(*n.args[1]);
    if (is_bool(rhs, decisive)) return decisive;
    for (const Value* side : {&lhs, &rhs}) {
      if (!*side) return *side;
      if (!(*side)->is_boolean()) return no_overload(**side, **side);
    }
    return !decisive;
  }

  // Only the chosen branch is evaluated.
  Value conditional(const Node& n) const {
    Value cond = eval(*n.args[0]);
    if (!cond) return cond;
    if (!cond->is_boolean()) return no_overload(*cond, *cond);
    return eval(*n.args[cond->get<bool>() ? 1 : 2]);
  }

  // The other operators are strict: both operands are evaluated, left first, and the first
  // error is the result.
  Value binary(const Node& n) const {
    Value lhs = eval(*n.args[0]);
    if (!lhs) return lhs;
    Value rhs = eval(*n.args[1]);
    if (!rhs) return rhs;
    return strict_binary(n.op, *lhs, *rhs);
  }

  const json& self_;
};

CelOutcome outcome_of(const Value& v) {
  if (!v) {
    return {v.error().unsupported ? CelOutcome::Kind::Unsupported : CelOutcome::Kind::Error,
            v.error().message};
  }
  // The real server refuses a rule whose type is not bool when it compiles it; here the type
  // is only known from the value.
  if (!v->is_boolean()) return {CelOutcome::Kind::Error, "cel expression must evaluate to a bool"};
  return {v->get<bool>() ? CelOutcome::Kind::True : CelOutcome::Kind::False, ""};
}

// ---------------------------------------------------------------------------------------------
// Guard check: every field path the rule reads or tests relative to self, the schema of each,
// and an evaluation over every combination of optional fields being present or absent.

constexpr int kMaxOptionalFields = 10;               // 2^10 presence combinations
constexpr std::uint64_t kMaxEvaluations = 1U << 14;  // with the candidate values of present fields
constexpr std::size_t kMaxCandidates = 8;  // values tried for one field, such as an enum's

std::string join_path(const std::string& base, const std::string& field) {
  return base.empty() ? field : base + "." + field;
}

// One step of a path from self: `.name` (possibly an escaped property name) or `['name']`.
struct Segment {
  std::string written;
  bool selected = true;
};
using FieldPath = std::vector<Segment>;

// The path from self that `n` reads (`self.a.b`, `self['a']`) or tests (`has(self.a.b)`), or
// nullopt when n is not such a chain. Indexing by anything but a string literal ends it.
std::optional<FieldPath> self_path(const Node& n) {
  if (n.op == Op::Self) return FieldPath{};
  std::optional<FieldPath> path;
  if (n.op == Op::Select || n.op == Op::Has) {
    path = self_path(*n.args[0]);
    if (path) path->push_back({n.field, true});
  } else if (n.op == Op::Index && n.args[1]->op == Op::Literal && n.args[1]->literal.is_string()) {
    path = self_path(*n.args[0]);
    if (path) path->push_back({n.args[1]->literal.get<std::string>(), false});
  }
  return path;
}

void collect_paths(const Node& n, std::vector<FieldPath>& out) {
  if (auto path = self_path(n); path && !path->empty()) out.push_back(std::move(*path));
  for (const auto& arg : n.args) collect_paths(*arg, out);
}

// The rule's string and int literals: values worth trying for a field without an enum, since
// they are what the rule compares fields with.
void collect_literals(const Node& n, std::vector<json>& out) {
  bool worth = n.op == Op::Literal && (n.literal.is_string() || n.literal.is_number_integer());
  if (worth && std::find(out.begin(), out.end(), n.literal) == out.end()) out.push_back(n.literal);
  for (const auto& arg : n.args) collect_literals(*arg, out);
}

const json* member(const json* schema, const char* name) {
  if (schema == nullptr || !schema->is_object()) return nullptr;
  auto it = schema->find(name);
  return it == schema->end() ? nullptr : &*it;
}

std::string type_of(const json* schema) {
  const json* type = member(schema, "type");
  return type != nullptr && type->is_string() ? type->get<std::string>() : "";
}

bool is_required(const json* schema, const std::string& name) {
  const json* required = member(schema, "required");
  if (required == nullptr || !required->is_array()) return false;
  return std::find(required->begin(), required->end(), json(name)) != required->end();
}

json object_placeholder(const json* schema);

// The values tried for a present field of `schema` that the rule does not read into: each
// value of a small enum, else a value of the schema's type plus the rule's literals of that
// type (so a comparison with a literal can go either way).
std::vector<json> leaf_candidates(const json* schema, const std::vector<json>& literals) {
  if (const json* e = member(schema, "enum"); e != nullptr && e->is_array() && !e->empty()) {
    if (e->size() > kMaxCandidates) return {e->front()};
    return std::vector<json>(e->begin(), e->end());
  }
  std::vector<json> out;
  auto add_literals = [&](auto is_type) {
    for (const json& literal : literals) {
      if (out.size() < kMaxCandidates && is_type(literal) && literal != out.front())
        out.push_back(literal);
    }
  };
  const json* int_or_string = member(schema, "x-kubernetes-int-or-string");
  std::string type = type_of(schema);
  if (int_or_string != nullptr && int_or_string->is_boolean() && int_or_string->get<bool>()) {
    out = {1, "x"};
  } else if (type == "string") {
    out = {"x"};
    add_literals([](const json& v) { return v.is_string(); });
  } else if (type == "integer" || type == "number") {
    out = {1};  // an int for "number" too: doubles are outside the subset
    add_literals([](const json& v) { return v.is_number_integer(); });
  } else if (type == "boolean") {
    out = {true, false};
  } else if (type == "array") {
    out = {json::array()};
  } else if (type == "object" || member(schema, "properties") != nullptr) {
    out = {object_placeholder(schema)};
  } else {
    out = {"x"};
  }
  return out;
}

// An object of `schema` holding its required fields, filled recursively.
json object_placeholder(const json* schema) {
  json out = json::object();
  const json* required = member(schema, "required");
  const json* properties = member(schema, "properties");
  if (required == nullptr || !required->is_array() || properties == nullptr ||
      !properties->is_object()) {
    return out;
  }
  for (const json& name : *required) {
    if (!name.is_string()) continue;
    auto it = properties->find(name.get<std::string>());
    if (it != properties->end()) out[name.get<std::string>()] = leaf_candidates(&*it, {}).front();
  }
  return out;
}

// A field the rule reads or tests. Field 0 is self; a field's parent comes before it.
struct Field {
  std::string key;               // the property name in the object
  std::string written;           // the name as the rule writes it, which "no such key" reports
  int parent = -1;               // index of the parent field; -1 for self
  const json* schema = nullptr;  // nullptr when the schema does not describe the field
  bool optional = false;
  bool has_children = false;
  std::vector<json> candidates;  // the values tried when present
};

// The child of `parent` that `segment` names, with its schema and whether it may be absent.
Field child_field(const Field& parent, int parent_index, const Segment& segment) {
  Field f;
  f.key = segment.written;
  f.written = segment.written;
  f.parent = parent_index;
  const json* properties = member(parent.schema, "properties");
  if (properties != nullptr && properties->is_object()) {
    if (segment.selected && !properties->contains(f.key) &&
        properties->contains(unescape_field(f.key))) {
      f.key = unescape_field(f.key);
    }
    if (auto it = properties->find(f.key); it != properties->end()) {
      f.schema = &*it;
      f.optional = !is_required(parent.schema, f.key);
      return f;
    }
  }
  // A map value (additionalProperties), or a field the schema does not declare: it may be
  // absent either way.
  const json* additional = member(parent.schema, "additionalProperties");
  f.schema = additional != nullptr && additional->is_object() ? additional : nullptr;
  f.optional = true;
  return f;
}

std::vector<Field> build_fields(const json& schema, const std::vector<FieldPath>& paths) {
  std::vector<Field> fields(1);
  fields[0].schema = &schema;
  for (const FieldPath& path : paths) {
    int at = 0;
    for (const Segment& segment : path) {
      Field child = child_field(fields[at], at, segment);
      auto same = [&](const Field& f) { return f.parent == at && f.key == child.key; };
      auto it = std::find_if(fields.begin(), fields.end(), same);
      fields[at].has_children = true;
      if (it == fields.end()) {
        fields.push_back(std::move(child));
        at = static_cast<int>(fields.size()) - 1;
      } else {
        at = static_cast<int>(it - fields.begin());
      }
    }
  }
  return fields;
}

void set_candidates(std::vector<Field>& fields, const std::vector<json>& literals) {
  for (Field& f : fields) {
    std::string type = type_of(f.schema);
    if (f.has_children && (type.empty() || type == "object")) {
      f.candidates = {object_placeholder(f.schema)};  // the rule's fields of it are added later
    } else {
      f.candidates = leaf_candidates(f.schema, literals);
    }
  }
}

// How many selfs the enumeration builds: a field is absent (when optional) or present with
// each candidate, and the fields of an absent field are absent. Saturates above the budget.
std::uint64_t assignments(const std::vector<Field>& fields, int i) {
  std::uint64_t children = 1;
  for (std::size_t c = 0; c < fields.size(); ++c) {
    if (fields[c].parent == i) {
      children = std::min(children * assignments(fields, static_cast<int>(c)), kMaxEvaluations + 1);
    }
  }
  std::uint64_t present = std::min(children * fields[i].candidates.size(), kMaxEvaluations + 1);
  return present + (fields[i].optional ? 1 : 0);
}

// Evaluates the rule on every self the fields describe and stops at the first "no such key".
class GuardRun {
 public:
  GuardRun(const Node& rule, const std::vector<Field>& fields)
      : rule_(rule), fields_(fields), choice_(fields.size(), -1) {}

  // The "no such key" message of the first failing self, if any.
  std::optional<std::string> run() {
    visit(0);
    return missing_;
  }

  // The absent field the "no such key: <name>" error names, or -1.
  int missing_field() const { return missing_field_; }

 private:
  bool present(int i) const { return i < 0 || choice_[i] >= 0; }

  void visit(std::size_t i) {
    if (missing_) return;
    if (i == fields_.size()) {
      evaluate();
      return;
    }
    const Field& f = fields_[i];
    choice_[i] = -1;
    if (!present(f.parent) || f.optional) visit(i + 1);
    if (!present(f.parent)) return;
    for (std::size_t k = 0; k < f.candidates.size() && !missing_; ++k) {
      choice_[i] = static_cast<int>(k);
      visit(i + 1);
    }
  }

  // The self the current choices describe. Children come after their parents, so going
  // backwards each field is complete before it is moved into its parent.
  json build() const {
    std::vector<json> values(fields_.size());
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (choice_[i] >= 0) values[i] = fields_[i].candidates[static_cast<std::size_t>(choice_[i])];
    }
    for (std::size_t i = fields_.size() - 1; i > 0; --i) {
      int parent = fields_[i].parent;
      if (choice_[i] >= 0 && values[parent].is_object())
        values[parent][fields_[i].key] = std::move(values[i]);
    }
    return std::move(values[0]);
  }

  void evaluate() {
    json self = build();
    Value v = Evaluator(self).eval(rule_);
    constexpr std::string_view kPrefix = "no such key: ";
    if (v || v.error().unsupported || !v.error().message.starts_with(kPrefix)) return;
    missing_ = v.error().message;
    std::string name = missing_->substr(kPrefix.size());
    for (std::size_t i = 1; i < fields_.size() && missing_field_ < 0; ++i) {
      if (choice_[i] < 0 && present(fields_[i].parent) && fields_[i].written == name)
        missing_field_ = static_cast<int>(i);
    }
  }

  const Node& rule_;
  const std::vector<Field>& fields_;
  std::vector<int> choice_;  // per field: -1 absent, else the index of its candidate
  std::optional<std::string> missing_;
  int missing_field_ = -1;
};

// "reads <path> without has(self.<written>): ..." for field i.
std::string unguarded_message(const std::vector<Field>& fields, int i, const std::string& path,
                              const std::string& error) {
  std::string keys;
  std::string written;
  for (int at = i; at > 0; at = fields[at].parent) {
    keys = keys.empty() ? fields[at].key : fields[at].key + "." + keys;
    written = written.empty() ? fields[at].written : fields[at].written + "." + written;
  }
  return "reads " + join_path(path, keys) + " without has(self." + written +
         "): the field is optional, so the rule fails with '" + error +
         "' on an object (or default) without it";
}

std::optional<std::string> check_rule(const json& schema, const std::string& path,
                                      const std::string& rule) {
  auto tree = parse_rule(rule);
  if (!tree) {
    return "uses syntax outside the subset the fake can check (" + tree.error() +
           "), so it is not checked";
  }
  std::vector<FieldPath> paths;
  collect_paths(**tree, paths);
  std::vector<json> literals;
  collect_literals(**tree, literals);
  std::vector<Field> fields = build_fields(schema, paths);
  auto optional_count =
      std::count_if(fields.begin(), fields.end(), [](const Field& f) { return f.optional; });
  if (optional_count > kMaxOptionalFields) {
    return "reads too many optional fields (" + std::to_string(optional_count) + ", at most " +
           std::to_string(kMaxOptionalFields) + ") to check every combination of them";
  }
  set_candidates(fields, literals);
  // Too many candidate combinations: one value per field still covers every presence
  // combination, which is what "no such key" depends on.
  if (assignments(fields, 0) > kMaxEvaluations) {
    for (Field& f : fields) f.candidates.resize(1);
  }
  GuardRun run(**tree, fields);
  std::optional<std::string> error = run.run();
  if (!error) return std::nullopt;
  if (run.missing_field() < 0) {
    return "fails with '" + *error +
           "' on an object (or default) that has the fields the schema requires";
  }
  return unguarded_message(fields, run.missing_field(), path, *error);
}

void walk_schema(const json& schema, const std::string& path, std::vector<CelGuardFinding>& out) {
  if (!schema.is_object()) return;
  if (const json* rules = member(&schema, "x-kubernetes-validations");
      rules != nullptr && rules->is_array()) {
    for (const json& entry : *rules) {
      const json* rule = member(&entry, "rule");
      if (rule == nullptr || !rule->is_string()) continue;
      if (auto message = check_rule(schema, path, rule->get<std::string>()))
        out.push_back({path, rule->get<std::string>(), *message});
    }
  }
  if (const json* properties = member(&schema, "properties");
      properties != nullptr && properties->is_object()) {
    for (const auto& [name, sub] : properties->items())
      walk_schema(sub, join_path(path, name), out);
  }
  if (const json* items = member(&schema, "items")) walk_schema(*items, path + "[]", out);
  if (const json* additional = member(&schema, "additionalProperties"))
    walk_schema(*additional, path + "[*]", out);
}

}  // namespace

CelOutcome evaluate_cel(const std::string& rule, const json& self) {
  auto tree = parse_rule(rule);
  if (!tree) return {CelOutcome::Kind::Unsupported, tree.error()};
  return outcome_of(Evaluator(self).eval(**tree));
}

std::vector<CelGuardFinding> check_cel_guards(const json& schema, const std::string& path) {
  std::vector<CelGuardFinding> findings;
  walk_schema(schema, path, findings);
  return findings;
}

}  // namespace keyward::testing::fake
