@D1 @D2
Feature: Connection and authentication
  Spec §3.1 and decisions D1–D2: Socket.IO v5 over websocket or polling; an HS256 JWT at the
  handshake; a refused token gets connect_error with data { code: UNAUTHORIZED, message }.

  Scenario: A valid token in the auth payload connects
    When "alex" connects
    Then "alex" is connected

  Scenario: A token in the Authorization header connects
    When "alex" connects with a token in the Authorization header
    Then "alex" is connected

  Scenario: The user may come from the sub claim
    Given an active conference with host "hana"
    When "sam" connects with a token whose user is in sub
    And "sam" joins the conference
    Then "sam" receives conference:joined with conferenceStatus "ACTIVE"

  @polling
  Scenario: The polling transport works as well as websocket
    Given an active conference with host "hana"
    When "bo" connects with the polling transport
    And "bo" joins the conference
    Then "bo" receives conference:joined with audienceCount 1
    And "hana" receives audience:joined with userId "bo"

  Scenario Outline: A bad token is refused at the handshake
    When "eve" connects with <token>
    Then the connection of "eve" is refused with UNAUTHORIZED

    Examples:
      | token                              |
      | no token                           |
      | a malformed token                  |
      | an expired token                   |
      | a token with a bad signature       |
      | an unsigned alg none token         |
      | a token without a user             |
      | a token whose user id is invalid   |
      | a token that is not a string       |
