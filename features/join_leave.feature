Feature: Joining and leaving a conference
  Spec §1.1 conference:join / conference:leave, §1.2 conference:joined / conference:left,
  §7.1 join flow, §7.2 leave flow; decisions D3, D7, D12, D13.

  @D3
  Scenario: The host joins as HOST and sees the conference state
    Given an active conference hosted by "hana" that nobody joined
    When "hana" joins the conference
    Then "hana" receives conference:joined with conferenceId "the conference", conferenceStatus "ACTIVE", liveQuestion null, audienceCount 0 and role "HOST"

  @D3
  Scenario: An audience member joins as AUDIENCE and is counted
    Given an active conference with host "hana"
    When "alex" joins the conference
    Then "alex" receives conference:joined with conferenceStatus "ACTIVE", audienceCount 1 and role "AUDIENCE"

  @D3
  Scenario: A role sent by the client is ignored
    Given an active conference with host "hana"
    And "alex" is connected
    When "alex" sends conference:join with {"conferenceId": "$conference", "role": "HOST"}
    Then "alex" receives conference:joined with role "AUDIENCE"
    And "hana" receives audience:joined with userId "alex"

  @D7
  Scenario: A DRAFT conference may be joined
    Given a draft conference hosted by "hana" that nobody joined
    When "alex" joins the conference
    Then "alex" receives conference:joined with conferenceStatus "DRAFT"

  @D7
  Scenario: An unknown conference answers CONFERENCE_NOT_FOUND
    Given "alex" is connected
    When "alex" joins an unknown conference
    Then "alex" receives error CONFERENCE_NOT_FOUND for conference:join
    And "alex" does not receive conference:joined

  @D7
  Scenario: An ended conference answers CONFERENCE_ENDED and joins nothing
    Given an ended conference hosted by "hana" that nobody joined
    And "alex" is connected
    When "alex" joins the conference
    Then "alex" receives error CONFERENCE_ENDED for conference:join
    And "alex" does not receive conference:joined

  @D13 @D22
  Scenario: A late joiner sees the live question, without its answer
    Given an active conference with host "hana"
    And question "q1" is live for 30 seconds
    When "alex" joins the conference
    Then "alex" receives conference:joined with liveQuestion.questionId "q1", liveQuestion.duration 30 and liveQuestion.options [{"key":"A","text":"Answer A"},{"key":"B","text":"Answer B"},{"key":"C","text":"Answer C"},{"key":"D","text":"Answer D"}]
    And no actor received a malformed or leaking message

  Scenario: Leaving confirms to the sender only
    Given an active conference with host "hana" and audience "alex", "bo"
    When "alex" leaves the conference
    Then "alex" receives conference:left with conferenceId "the conference"
    And "bo" does not receive conference:left

  @D12
  Scenario: Leaving a conference never joined still answers conference:left
    Given an active conference hosted by "hana" that nobody joined
    And "alex" is connected
    When "alex" leaves the conference
    Then "alex" receives conference:left with conferenceId "the conference"

  Scenario: After leaving, room broadcasts no longer arrive
    Given an active conference with host "hana" and audience "alex", "bo"
    When "alex" leaves the conference
    And "alex" receives conference:left
    And "hana" pushes question "q1" live
    Then "bo" receives question:live with questionId "q1"
    And "alex" does not receive question:live

  Scenario: Joining twice from one socket counts once
    Given an active conference with host "hana" and audience "alex"
    When "alex" joins the conference
    Then "alex" receives conference:joined with audienceCount 1
    And "hana" does not receive audience:joined
