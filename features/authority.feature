Feature: Authority of HOST and AUDIENCE
  Spec §3.2–§3.4: what each role may and may not do; decisions D3, D10, D17, D18, D22.

  Scenario: The host may push a question live
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live
    Then "hana" and "alex" receive question:live with questionId "q1"

  @D17
  Scenario: The host may close the live question
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "hana" closes question "q1"
    Then "alex" receives question:closed with reason "manual"

  @D18
  Scenario: The host cannot vote
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "hana" votes "A" on question "q1"
    Then "hana" receives vote:rejected because not_audience

  @D3
  Scenario: The host cannot join as audience
    Given an active conference hosted by "hana" that nobody joined
    And "hana" is connected
    When "hana" sends conference:join with {"conferenceId": "$conference", "role": "AUDIENCE"}
    Then "hana" receives conference:joined with audienceCount 0
    When "hana" pushes question "q1" live
    Then "hana" receives question:live with questionId "q1"

  Scenario: The host receives real-time and final results
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" votes "B" on question "q1"
    Then "hana" receives vote:result with totalVotes 1
    When "hana" closes question "q1"
    Then "hana" receives vote:final_result with totalVotes 1

  Scenario: The audience may vote
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" votes "A" on question "q1"
    Then "alex" receives vote:accepted with selectedOption "A" and isCorrect true

  Scenario: An audience member cannot push questions
    Given an active conference with host "hana" and audience "alex"
    When "alex" pushes question "q1" live
    Then "alex" receives error UNAUTHORIZED for question:push_live
    And "hana" does not receive question:live

  Scenario: An audience member cannot close questions
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" closes question "q1"
    Then "alex" receives error UNAUTHORIZED for question:close
    And "hana" does not receive question:closed

  Scenario: A connected user who is not the host cannot push, even without joining
    Given an active conference hosted by "hana" that nobody joined
    And "mallory" is connected
    When "mallory" pushes question "q1" live
    Then "mallory" receives error UNAUTHORIZED for question:push_live

  @D10 @D22
  Scenario: The audience never sees individual voter identities
    Given an active conference with host "hana" and audience "alex", "bo"
    And question "q1" is live
    When "alex" votes "A" on question "q1"
    And "bo" votes "B" on question "q1"
    Then "alex" receives vote:result with totalVotes 2
    And "bo" does not receive audience:joined
    And no actor received a malformed or leaking message

  @D22
  Scenario: The audience does not see the correct answer until the question closes
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q2" live
    Then "alex" receives question:live with questionId "q2"
    And no actor received a malformed or leaking message
    When "hana" closes question "q2"
    Then "alex" receives vote:final_result with correctOption "B"

  @D18
  Scenario: A socket that never joined the conference cannot vote
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    And "stranger" is connected
    When "stranger" votes "A" on question "q1"
    Then "stranger" receives vote:rejected because not_audience
