@D4 @D5
Feature: Errors and bad input
  Spec §1.2 error, §9; decisions D4 (identifiers), D5 (INVALID_PAYLOAD, context), D24 (rate
  limit). Bad input always gets a clear error and never hurts the server.

  Scenario Outline: A malformed payload of any event answers INVALID_PAYLOAD
    Given an active conference with host "hana" and audience "alex"
    When "alex" sends <event> with <payload>
    Then "alex" receives error INVALID_PAYLOAD for <event>

    Examples:
      | event              | payload                                                    |
      | conference:join    | no payload                                                 |
      | conference:join    | "a string"                                                 |
      | conference:join    | 42                                                         |
      | conference:join    | {}                                                         |
      | conference:join    | {"conferenceId": 7}                                        |
      | conference:join    | {"conferenceId": ""}                                       |
      | conference:join    | {"conferenceId": "x"*65}                                   |
      | conference:join    | {"conferenceId": "has:colon"}                              |
      | conference:join    | {"conferenceId": "has space"}                              |
      | conference:join    | {"conferenceId": "y"*20000}                                |
      | conference:leave   | {}                                                         |
      | conference:leave   | {"conferenceId": null}                                     |
      | conference:leave   | true                                                       |
      | question:push_live | {"conferenceId": "$conference"}                            |
      | question:push_live | {"conferenceId": "$conference", "questionId": 5}           |
      | question:push_live | {"conferenceId": "$conference", "questionId": "q 1"}       |
      | question:close     | {"conferenceId": "$conference"}                            |
      | question:close     | {"conferenceId": "$conference", "questionId": ["$q1"]}     |
      | vote:submit        | {"conferenceId": "$conference", "questionId": "$q1"}       |
      | vote:submit        | {"conferenceId": "$conference", "questionId": "$q1", "selectedOption": ""} |
      | vote:submit        | {"conferenceId": "$conference", "questionId": "$q1", "selectedOption": 1} |
      | vote:submit        | {"conferenceId": "$conference", "questionId": "$q1", "selectedOption": "Q"*17} |
      | vote:submit        | {"conferenceId": "$conference", "questionId": "$q1", "selectedOption": {"key": "A"}} |
      | vote:submit        | {"questionId": "$q1", "selectedOption": "A"}               |

  Scenario: The error names the event and the ids it could read
    Given an active conference with host "hana" and audience "alex"
    When "hana" sends question:push_live with {"conferenceId": "$conference", "questionId": "$q2", "duration": 0}
    Then "hana" receives error INVALID_PAYLOAD for question:push_live
    And "hana" received an error with context.conferenceId "$conference" and context.questionId "$q2"

  Scenario: After bad input the server still serves the same socket
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" sends vote:submit with "garbage"
    And "alex" receives error INVALID_PAYLOAD
    And "alex" votes "A" on question "q1"
    Then "alex" receives vote:accepted with isCorrect true

  @D24
  Scenario: Past 100 events a minute a socket is rate limited
    Given an active conference with host "hana"
    And "alex" is connected
    When "alex" sends 101 conference:leave events in a row
    Then "alex" receives error RATE_LIMITED for conference:leave
    And "alex" received 100 conference:left

  @D24
  Scenario: The rate limit is per socket
    Given an active conference with host "hana"
    And "alex" is connected
    When "alex" sends 101 conference:leave events in a row
    And "alex" receives error RATE_LIMITED
    And "alex#2" joins the conference
    Then "alex#2" receives conference:joined
