@D8
Feature: The Control API
  Decision D8: conferences are created, activated and ended outside the socket protocol, over
  HTTP with a bearer admin token; conference:status_changed reaches the room (spec §1.2).

  Scenario: Activating a conference tells the room
    Given a draft conference with host "hana" and audience "alex"
    When the conference is activated
    Then "alex" receives conference:status_changed with conferenceId "the conference" and status "ACTIVE"
    And "hana" receives conference:status_changed with status "ACTIVE"
    And the Control API answers 200
    And the Control API answer has status "ACTIVE"

  Scenario: Ending a conference tells the room and closes it to joins
    Given an active conference with host "hana" and audience "alex"
    When the conference is ended
    Then "alex" receives conference:status_changed with status "ENDED"
    When "bo" joins the conference
    Then "bo" receives error CONFERENCE_ENDED for conference:join

  Scenario: After the end, a socket of the conference can no longer vote
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When the conference is ended
    And "alex" receives conference:status_changed with status "ENDED"
    And "alex" votes "A" on question "q1"
    Then "alex" receives vote:rejected

  Scenario Outline: Admin calls need the admin token
    Given an active conference hosted by "hana" that nobody joined
    When the operator calls <method> <path> with <token>
    Then the Control API answers 401 with error "UNAUTHORIZED"

    Examples:
      | method | path                                   | token         |
      | POST   | /admin/conferences/$conference/activate | no token      |
      | POST   | /admin/conferences/$conference/end      | a wrong token |
      | PUT    | /admin/conferences/$conference          | no token      |

  Scenario Outline: A bad body answers 400 with a message
    When the operator calls PUT /admin/conferences/$conference with the admin token and body <body>
    Then the Control API answers 400

    Examples:
      | body                                  |
      | {not json                             |
      | {}                                    |
      | {"hostUserId": 5}                     |
      | {"hostUserId": "has space"}           |
      | {"hostUserId": "h", "status": "LIVE"} |
      | {"hostUserId": "h", "questions": [{"questionId": "$q1", "questionText": "t", "options": [{"key": "A", "text": "a"}], "correctOption": "A"}]} |
      | {"hostUserId": "h", "questions": [{"questionId": "$q1", "questionText": "t", "options": [{"key": "A", "text": "a"}, {"key": "B", "text": "b"}], "correctOption": "C"}]} |

  Scenario: Activating or ending an unknown conference answers 404
    When the operator calls POST /admin/conferences/nowhere-$conference/activate with the admin token
    Then the Control API answers 404

  Scenario: An ended conference cannot be activated again
    Given an active conference with host "hana"
    And the conference has been ended
    When the operator calls POST /admin/conferences/$conference/activate with the admin token
    Then the Control API answers 409

  Scenario: The probes answer
    When the operator calls GET /health with no token
    Then the Control API answers 200
    When the operator calls GET /ready with no token
    Then the Control API answers 200
    When the operator calls GET /metrics with no token
    Then the Control API answers 200
